export { openEngine, Engine, type EngineOptions } from './api/engine';
export { VivariumError, toErrorBody } from './errors';
export { keepFilesPrivate } from './private-files';

export { startServer, type RunningServer, type ServerOptions } from './start';
export { isLoopback } from './auth';
export { safeRelativePath } from './static-files';

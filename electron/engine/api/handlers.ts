import type { ApiResults, Method, ParsedParams } from '../../../common/contract';

/** Implementations of some of the contract's methods; the engine merges the groups. */
export type HandlerGroup<K extends Method> = {
  [M in K]: (params: ParsedParams<M>) => Promise<ApiResults[M]>;
};

export type Handlers = HandlerGroup<Method>;

import { create } from 'zustand';
import type { HostInfo } from '../../../preload/contract';
import type { BridgeKind, ConnectionState } from '../bridge';

export interface HostState {
  info: HostInfo | null;
  /** host.info's notices followed by host.notice events, without duplicates. */
  notices: string[];
  connection: ConnectionState;
  bridgeKind: BridgeKind | null;
}

/** Holds what the engine reported about the host; only `actions/host.ts` writes to it. */
export const useHostStore = create<HostState>()(() => ({
  info: null,
  notices: [],
  connection: 'connecting',
  bridgeKind: null,
}));

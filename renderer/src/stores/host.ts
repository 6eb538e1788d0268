import { create } from 'zustand';
import type { HostInfo } from '../../../common/contract';
import type { BridgeKind, ConnectionState } from '../bridge';

export interface HostState {
  info: HostInfo | null;
  /** Why host.info failed, while there is no answer to show. */
  error: string | null;
  /** host.info's notices followed by host.notice events, without duplicates. */
  notices: string[];
  connection: ConnectionState;
  bridgeKind: BridgeKind | null;
  /** A fresh probe (`host.info` with refresh) is under way: it runs a test guest per accelerator. */
  probing: boolean;
}

/** Holds what the engine reported about the host; only `actions/host.ts` writes to it. */
export const useHostStore = create<HostState>()(() => ({
  info: null,
  error: null,
  notices: [],
  connection: 'connecting',
  bridgeKind: null,
  probing: false,
}));

import { useEffect, useRef, useState } from 'react';
import type { StreamKind } from '../../../common/contract';
import { backoffMs, openStreamUrl } from '../lib/streams';

/** Where a VM's byte stream (display or console) stands. */
export type StreamConn =
  | { kind: 'idle' }
  | { kind: 'connecting' }
  | { kind: 'connected' }
  | { kind: 'reconnecting'; attempt: number; inMs: number };

const IDLE: StreamConn = { kind: 'idle' };

/** What the hook tells the one session it opened. */
export interface SessionEvents {
  /** The session is up; false when the stream was stopped meanwhile (then ignore the session). */
  opened(): boolean;
  /** The session ended (closed, refused, dropped): the hook reconnects unless it was stopped. */
  ended(): void;
}

export interface StreamSession {
  close(): void;
}

export interface ReconnectingStreamOptions {
  vmId: string;
  kind: StreamKind;
  /** Connected while true (QEMU runs, the view is ready); idle otherwise. */
  enabled: boolean;
  /**
   * Opens one session (noVNC, a WebSocket) on a fresh ticket's URL. `previousSessions` counts the
   * sessions that opened before in this run of the stream (0: the first).
   */
  open: (url: string, events: SessionEvents, previousSessions: number) => StreamSession;
  /** A session that ended before it opened costs one more backoff step (the consoles' rule). */
  slowerAfterFailedOpen?: boolean;
}

/**
 * One VM stream that reconnects: a new single-use ticket for every (re)connect, backing off
 * (backoffMs) while it fails, and starting over whenever the VM, the kind or `enabled` change.
 */
export function useReconnectingStream({
  vmId,
  kind,
  enabled,
  open,
  slowerAfterFailedOpen = false,
}: ReconnectingStreamOptions): StreamConn {
  const [conn, setConn] = useState<StreamConn>(IDLE);
  const openRef = useRef(open);
  useEffect(() => {
    openRef.current = open;
  });

  useEffect(() => {
    if (!enabled) return;
    let closed = false;
    let attempt = 0;
    let sessions = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let session: StreamSession | null = null;

    const retry = () => {
      attempt += 1;
      const inMs = backoffMs(attempt);
      setConn({ kind: 'reconnecting', attempt, inMs });
      timer = setTimeout(() => void connect(), inMs);
    };

    const connect = async () => {
      timer = null;
      if (attempt === 0) setConn({ kind: 'connecting' });
      let url: string;
      try {
        url = await openStreamUrl(vmId, kind);
      } catch {
        if (!closed) retry();
        return;
      }
      if (closed) return;
      let opened = false;
      let mine: StreamSession | null = null;
      mine = openRef.current(
        url,
        {
          opened: () => {
            if (closed) return false;
            opened = true;
            attempt = 0;
            sessions += 1;
            setConn({ kind: 'connected' });
            return true;
          },
          ended: () => {
            if (session === mine) session = null;
            if (closed) return;
            if (!opened && slowerAfterFailedOpen) attempt = Math.max(attempt, 1);
            retry();
          },
        },
        sessions,
      );
      session = mine;
    };

    void connect();
    return () => {
      closed = true;
      if (timer) clearTimeout(timer);
      session?.close();
      session = null;
      // The next run starts from idle, not from this run's last state.
      setConn(IDLE);
    };
  }, [vmId, kind, enabled, slowerAfterFailedOpen]);

  return enabled ? conn : IDLE;
}

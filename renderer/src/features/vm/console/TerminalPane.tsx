import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from 'react';
import type { StreamKind } from '../../../../../common/contract';
import { getBridge } from '../../../bridge';
import { notify } from '../../../actions/notifications';
import { useReconnectingStream, type StreamConn } from '../../../hooks/use-reconnecting-stream';
import { useThemeStore } from '../../../stores/theme';
import { DARK, LIGHT } from './terminal-themes';

/** The stream's state, or `log`: the VM is off and the serial pane shows its last run. */
export type TermConn = StreamConn | { kind: 'log' };

export interface TerminalHandle {
  copy(): Promise<void>;
  paste(): Promise<void>;
  clear(): void;
  focus(): void;
}

/**
 * One terminal on a VM's serial port or HMP monitor. The serial stream replays what the guest
 * printed before, so a reconnect starts from a clean screen; while the VM is off, the serial pane
 * shows the log of its last run.
 */
export const TerminalPane = forwardRef<
  TerminalHandle,
  {
    vmId: string;
    kind: Extract<StreamKind, 'serial' | 'monitor'>;
    live: boolean;
    visible: boolean;
    onConn: (conn: TermConn) => void;
    /** Bytes came from the stream (the guest or QEMU wrote something). */
    onOutput?: () => void;
  }
>(function TerminalPane({ vmId, kind, live, visible, onConn, onOutput }, ref) {
  const hostRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const fitRef = useRef<FitAddon | null>(null);
  const wsRef = useRef<WebSocket | null>(null);
  const onConnRef = useRef(onConn);
  onConnRef.current = onConn;
  const onOutputRef = useRef(onOutput);
  onOutputRef.current = onOutput;
  const [ready, setReady] = useState(false);

  // The terminal itself lives as long as the pane.
  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const term = new Terminal({
      scrollback: 10_000,
      fontFamily:
        "ui-monospace, 'SF Mono', Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace",
      fontSize: 13.5,
      lineHeight: 1.15,
      cursorBlink: true,
      convertEol: false,
      allowProposedApi: false,
      theme: useThemeStore.getState().resolved === 'dark' ? DARK : LIGHT,
      disableStdin: true,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host);
    termRef.current = term;
    fitRef.current = fit;

    // Ctrl+Shift+C copies, Ctrl+Shift+V lets the browser paste (xterm reads the paste event).
    term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
      if (e.code === 'KeyC') {
        const sel = term.getSelection();
        if (sel) void navigator.clipboard.writeText(sel).catch(() => undefined);
        e.preventDefault();
        return false;
      }
      if (e.code === 'KeyV') return false;
      return true;
    });

    const encoder = new TextEncoder();
    const send = (data: string | Uint8Array<ArrayBuffer>) => {
      const ws = wsRef.current;
      if (ws?.readyState === WebSocket.OPEN)
        ws.send(typeof data === 'string' ? encoder.encode(data) : data);
    };
    const d1 = term.onData((data) => send(data));
    const d2 = term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));

    // The app's theme (the user's choice, or the system's), as it changes.
    const unsubscribeTheme = useThemeStore.subscribe((s, prev) => {
      if (s.resolved !== prev.resolved) term.options.theme = s.resolved === 'dark' ? DARK : LIGHT;
    });

    const ro = new ResizeObserver(() => {
      if (host.clientWidth > 0 && host.clientHeight > 0) {
        try {
          fit.fit();
        } catch {
          // Not laid out yet.
        }
      }
    });
    ro.observe(host);
    setReady(true);
    return () => {
      ro.disconnect();
      unsubscribeTheme();
      d1.dispose();
      d2.dispose();
      term.dispose();
      termRef.current = null;
      fitRef.current = null;
    };
  }, []);

  // Off: the serial pane shows what the guest printed last time, read-only.
  useEffect(() => {
    const term = termRef.current;
    if (!ready || !term || live) return;
    let closed = false;
    term.options.disableStdin = true;
    if (kind === 'serial') {
      onConnRef.current({ kind: 'log' });
      void getBridge()
        .call('vm.log', { vm: vmId, kind: 'serial', maxBytes: 256 * 1024 })
        .then(
          (log) => {
            if (closed) return;
            term.reset();
            if (log.text) term.write(log.text.replace(/(?<!\r)\n/g, '\r\n'));
            else
              term.write(
                '\x1b[2m(The guest has printed nothing on its serial port yet.)\x1b[0m\r\n',
              );
          },
          () => undefined,
        );
    } else {
      onConnRef.current({ kind: 'idle' });
    }
    return () => {
      closed = true;
    };
  }, [ready, live, vmId, kind]);

  // The stream: live while QEMU runs, with a fresh ticket for every (re)connect.
  const conn = useReconnectingStream({
    vmId,
    kind,
    enabled: ready && live,
    slowerAfterFailedOpen: true,
    open: (url, events, previousSessions) => {
      const term = termRef.current;
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      let heard = false;
      ws.onopen = () => {
        if (!term || !events.opened()) return;
        wsRef.current = ws;
        // The serial stream replays the guest's history: start from a clean screen.
        // A new run of the VM starts the monitor from a clean screen too.
        if (kind === 'serial' || previousSessions === 0) term.reset();
        else term.write('\r\n\x1b[2m— reconnected —\x1b[0m\r\n');
        term.options.disableStdin = false;
        // The monitor is shared: a viewer joining one already open gets no greeting, so ask
        // QEMU for a fresh prompt when it stays silent.
        if (kind === 'monitor') {
          setTimeout(() => {
            if (!heard && ws.readyState === WebSocket.OPEN) ws.send(new TextEncoder().encode('\r'));
          }, 300);
        }
      };
      ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
        if (!heard) onOutputRef.current?.();
        heard = true;
        if (typeof ev.data === 'string') term?.write(ev.data);
        else term?.write(new Uint8Array(ev.data));
      };
      ws.onclose = () => {
        if (wsRef.current === ws) wsRef.current = null;
        if (term) term.options.disableStdin = true;
        events.ended();
      };
      return {
        close: () => {
          ws.close(1000);
          if (wsRef.current === ws) wsRef.current = null;
        },
      };
    },
  });
  // The parent shows the live stream's state; the off states are set above.
  useEffect(() => {
    if (live) onConnRef.current(conn);
  }, [conn, live]);

  // A pane that becomes visible fits its (new) size and takes the keyboard.
  useEffect(() => {
    if (!visible) return;
    const id = requestAnimationFrame(() => {
      try {
        fitRef.current?.fit();
      } catch {
        // Not laid out yet.
      }
    });
    return () => cancelAnimationFrame(id);
  }, [visible]);

  useImperativeHandle(
    ref,
    () => ({
      async copy() {
        const sel = termRef.current?.getSelection() ?? '';
        if (!sel) {
          notify(
            {
              kind: 'info',
              title: 'Nothing selected',
              message: 'Select text in the console first.',
            },
            3000,
          );
          return;
        }
        try {
          await navigator.clipboard.writeText(sel);
          notify({ kind: 'info', title: 'Copied', message: `${sel.length} characters` }, 2000);
        } catch {
          notify(
            {
              kind: 'warning',
              title: 'Couldn’t copy',
              message: 'Use Ctrl+Shift+C or your browser’s Copy.',
            },
            5000,
          );
        }
      },
      async paste() {
        const term = termRef.current;
        if (!term) return;
        try {
          const text = await navigator.clipboard.readText();
          if (text) term.paste(text);
          term.focus();
        } catch {
          term.focus();
          notify(
            {
              kind: 'info',
              title: 'Press Ctrl+Shift+V to paste',
              message:
                'This window may not read the clipboard by itself; the keyboard shortcut pastes into the console.',
            },
            6000,
          );
        }
      },
      clear() {
        termRef.current?.clear();
      },
      focus() {
        termRef.current?.focus();
      },
    }),
    [],
  );

  return (
    <div className="terminal" ref={hostRef} data-testid={`terminal-${kind}`} hidden={!visible} />
  );
});

import { useEffect, useRef, useState } from 'react';
import { navigate } from '../../../actions/ui';
import { isGuestUp } from '../../../../../common/vm-state';
import { Icon } from '../../../components/Icon';
import type { TabProps } from '../tab-props';
import { TerminalPane, type TermConn, type TerminalHandle } from './TerminalPane';

type Pane = 'serial' | 'monitor';

const PANES: ReadonlyArray<{ id: Pane; label: string; what: string }> = [
  { id: 'serial', label: 'Serial console', what: 'The guest’s first serial port (ttyS0)' },
  { id: 'monitor', label: 'QEMU monitor', what: 'QEMU’s human monitor (HMP): type “help”' },
];

/** The guest's serial console and QEMU's monitor, each in its own terminal. */
export default function ConsoleTab({ vm, active }: TabProps) {
  const live = isGuestUp(vm.runtime.state);
  const [pane, setPane] = useState<Pane>('serial');
  const [opened, setOpened] = useState<readonly Pane[]>(['serial']);
  const [conns, setConns] = useState<Record<Pane, TermConn>>({
    serial: { kind: 'idle' },
    monitor: { kind: 'idle' },
  });
  const handles = useRef<Partial<Record<Pane, TerminalHandle | null>>>({});
  // The serial port said nothing for a while after connecting: say why, instead of a blank pane.
  // Kept as the connection it was true of, so a reconnect starts quiet again.
  const [silentConn, setSilentConn] = useState<TermConn | null>(null);
  const serialConn = conns.serial;
  const heardSerial = useRef(false);
  useEffect(() => {
    if (serialConn.kind !== 'connected') return;
    heardSerial.current = false;
    const t = setTimeout(() => {
      if (!heardSerial.current) setSilentConn(serialConn);
    }, SILENCE_MS);
    return () => clearTimeout(t);
  }, [serialConn]);
  const serialSilent = silentConn === serialConn && serialConn.kind === 'connected';
  const current = () => handles.current[pane];
  const conn = conns[pane];

  const show = (p: Pane) => {
    setPane(p);
    if (!opened.includes(p)) setOpened([...opened, p]);
    requestAnimationFrame(() => handles.current[p]?.focus());
  };

  return (
    <div className="console" data-testid="console">
      <div className="console-toolbar" role="toolbar" aria-label="Console">
        <div className="segmented" role="tablist" aria-label="Terminal">
          {PANES.map((p) => (
            <button
              key={p.id}
              type="button"
              role="tab"
              aria-selected={pane === p.id}
              className={pane === p.id ? 'is-on' : undefined}
              onClick={() => show(p.id)}
              title={p.what}
            >
              <Icon name={p.id === 'serial' ? 'terminal' : 'chip'} size={14} />
              {p.label}
            </button>
          ))}
        </div>
        <TermChip conn={conn} pane={pane} />
        <div className="console-toolbar__actions">
          <button
            type="button"
            className="btn btn--compact"
            onClick={() => void current()?.copy()}
            title="Copy the selection (Ctrl+Shift+C)"
          >
            <Icon name="copy" size={14} />
            Copy
          </button>
          <button
            type="button"
            className="btn btn--compact"
            onClick={() => void current()?.paste()}
            disabled={conn.kind !== 'connected'}
            title="Paste into the console (Ctrl+Shift+V)"
          >
            <Icon name="clipboard" size={14} />
            Paste
          </button>
          <button
            type="button"
            className="btn btn--compact"
            onClick={() => current()?.clear()}
            title="Clear the scrollback"
          >
            <Icon name="trash" size={14} />
            Clear
          </button>
        </div>
      </div>
      <div className="console-body">
        {opened.map((p) => (
          <TerminalPane
            key={p}
            ref={(h) => {
              handles.current[p] = h;
            }}
            vmId={vm.id}
            kind={p}
            live={live}
            visible={active && pane === p}
            onConn={(c) => setConns((s) => ({ ...s, [p]: c }))}
            {...(p === 'serial'
              ? {
                  onOutput: () => {
                    heardSerial.current = true;
                    setSilentConn(null);
                  },
                }
              : {})}
          />
        ))}
        {pane === 'serial' && serialSilent && live ? <SilentSerial vmId={vm.id} /> : null}
        {!live && pane === 'monitor' ? (
          <div className="console-empty">
            <Icon name="chip" size={26} />
            <p>The monitor is there while the VM runs.</p>
          </div>
        ) : null}
      </div>
    </div>
  );
}

/** How long a connected serial port may stay quiet before the tab explains why. */
const SILENCE_MS = 10_000;

/**
 * Most guests write to their screen, not to a serial port: a connected, empty pane looked broken.
 * Says so, and how a Linux guest gets a console on ttyS0.
 */
function SilentSerial({ vmId }: { vmId: string }) {
  return (
    <div className="console-silent" data-testid="console-silent" role="status">
      <Icon name="info" size={18} />
      <div>
        <p>
          <strong>Nothing from the guest on its serial port.</strong> Most systems write to their
          screen, not to a serial port: see the{' '}
          <button
            type="button"
            className="link-btn"
            onClick={() => navigate({ view: 'vm', vmId, tab: 'display' })}
          >
            Display
          </button>
          .
        </p>
        <p>A Linux guest gets a console here in either of two ways:</p>
        <ul>
          <li>
            Kernel messages and a boot console: add <code>console=ttyS0,115200</code> to the kernel
            command line (Debian and Ubuntu: to <code>GRUB_CMDLINE_LINUX</code> in{' '}
            <code>/etc/default/grub</code>, then <code>sudo update-grub</code>).
          </li>
          <li>
            A login prompt, from the running system:{' '}
            <code>sudo systemctl enable --now serial-getty@ttyS0</code>
          </li>
        </ul>
      </div>
    </div>
  );
}

function TermChip({ conn, pane }: { conn: TermConn; pane: Pane }) {
  const [cls, text] =
    conn.kind === 'connected'
      ? ['good', 'Connected']
      : conn.kind === 'connecting'
        ? ['busy', 'Connecting…']
        : conn.kind === 'reconnecting'
          ? ['busy', `Reconnecting (attempt ${conn.attempt})…`]
          : conn.kind === 'log'
            ? ['neutral', 'VM off · the log of its last run']
            : ['neutral', pane === 'monitor' ? 'VM off' : 'Not connected'];
  return (
    <span
      className={`chip chip--${cls}`}
      data-testid={`console-conn-${pane}`}
      data-state={conn.kind}
    >
      <span className="chip__dot" />
      {text}
    </span>
  );
}

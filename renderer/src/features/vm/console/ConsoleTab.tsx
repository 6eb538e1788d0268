import { useRef, useState } from 'react';
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
          />
        ))}
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

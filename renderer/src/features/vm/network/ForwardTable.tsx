import { useId, useState } from 'react';
import type {
  ForwardInfo,
  NicInfo,
  SshForwardResult,
  VmSummary,
} from '../../../../../common/contract';
import { isGuestUp } from '../../../../../common/vm-state';
import { addForward, forwardSsh, removeForward } from '../../../actions/networks';
import { CopyCommand } from '../../../components/CopyCommand';
import { Icon } from '../../../components/Icon';
import {
  emptyForwardDraft,
  forwardErrors,
  forwardIsExposed,
  forwardRequest,
  type ForwardDraft,
} from '../../../lib/network-drafts';

/**
 * A card's port forwards: each with whether it is live in the running QEMU, a row to add one
 * (while the VM runs too) and "Forward SSH". On a NAT network a forward goes to one guest address.
 */
export function ForwardTable({
  vm,
  info,
  all,
  mode,
}: {
  vm: VmSummary;
  info: NicInfo;
  all: readonly NicInfo[];
  mode: 'nat' | 'network';
}) {
  const id = useId();
  const onNetwork = mode === 'network';
  const [draft, setDraft] = useState<ForwardDraft>(emptyForwardDraft);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [ssh, setSsh] = useState<SshForwardResult | null>(null);
  const [sshError, setSshError] = useState<string | null>(null);
  const up = isGuestUp(vm.runtime.state);
  // Host ports are the host's: a port forwarded on any card of this VM is taken.
  const taken = all.flatMap((n) => n.forwards);
  const errors = forwardErrors(draft, taken, onNetwork);
  const shownErrors = tried ? errors : {};
  const exposed = forwardIsExposed(draft);
  const set = <K extends keyof ForwardDraft>(key: K, value: ForwardDraft[K]) => {
    setError(null);
    setDraft((d) => ({ ...d, [key]: value }));
  };

  const add = () => {
    setTried(true);
    if (Object.keys(errors).length > 0) return;
    setBusy(true);
    setError(null);
    void addForward(vm.id, info.index, forwardRequest(draft, onNetwork)).then((r) => {
      setBusy(false);
      if (!r.ok) {
        setError(r.message);
        return;
      }
      setTried(false);
      setDraft(emptyForwardDraft());
    });
  };

  const sshLine =
    ssh && info.forwards.some((f) => f.hostPort === ssh.forward.hostPort) ? ssh : null;

  return (
    <div className="fwd" data-testid={`forwards-${info.index}`}>
      <div className="fwd__head">
        <h3>Port forwards</h3>
        <button
          type="button"
          className="btn btn--compact"
          data-testid="forward-ssh"
          onClick={() => {
            setSshError(null);
            void forwardSsh(vm.id, info.index).then((r) => {
              if (r.ok) setSsh(r.value);
              else setSshError(r.message);
            });
          }}
          title="Forwards a free host port (from 2222 up) to the guest’s SSH port 22"
        >
          <Icon name="terminal" size={14} />
          Forward SSH
        </button>
      </div>
      {sshLine ? (
        <div className="fwd__ssh" data-testid="ssh-command">
          <CopyCommand text={sshLine.command} label="SSH command" />
        </div>
      ) : null}
      {sshError ? (
        <p className="field__error" role="alert">
          {sshError}
        </p>
      ) : null}

      <table className={`fwd__table${onNetwork ? ' fwd__table--net' : ''}`}>
        <thead>
          <tr>
            <th scope="col">Protocol</th>
            <th scope="col">Host address</th>
            <th scope="col">Host port</th>
            {onNetwork ? <th scope="col">Guest address</th> : null}
            <th scope="col">Guest port</th>
            <th scope="col">State</th>
            <th scope="col">
              <span className="visually-hidden">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {info.forwards.map((f) => (
            <ForwardRow key={f.spec} vm={vm} f={f} up={up} onNetwork={onNetwork} />
          ))}
          {info.forwards.length === 0 ? (
            <tr className="fwd__none">
              <td colSpan={onNetwork ? 7 : 6} className="muted">
                No forwards: nothing outside reaches this card.
              </td>
            </tr>
          ) : null}
          <tr className="fwd__add" data-testid="forward-add-row">
            <td>
              <select
                aria-label="Protocol"
                value={draft.protocol}
                onChange={(e) => set('protocol', e.target.value as 'tcp' | 'udp')}
              >
                <option value="tcp">TCP</option>
                <option value="udp">UDP</option>
              </select>
            </td>
            <td>
              <input
                aria-label="Host address"
                className="mono"
                value={draft.hostAddress}
                spellCheck={false}
                aria-invalid={shownErrors.hostAddress ? true : undefined}
                onChange={(e) => set('hostAddress', e.target.value)}
              />
            </td>
            <td>
              <input
                aria-label="Host port"
                className="mono"
                inputMode="numeric"
                placeholder="8080"
                value={draft.hostPort}
                aria-invalid={shownErrors.hostPort ? true : undefined}
                onChange={(e) => set('hostPort', e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') add();
                }}
              />
            </td>
            {onNetwork ? (
              <td>
                <input
                  aria-label="Guest address"
                  className="mono"
                  placeholder={info.addresses[0] ?? 'automatic'}
                  title="Empty: the address the guest agent reports on this network"
                  value={draft.guestAddress}
                  aria-invalid={shownErrors.guestAddress ? true : undefined}
                  onChange={(e) => set('guestAddress', e.target.value)}
                />
              </td>
            ) : null}
            <td>
              <input
                aria-label="Guest port"
                className="mono"
                inputMode="numeric"
                placeholder="80"
                value={draft.guestPort}
                aria-invalid={shownErrors.guestPort ? true : undefined}
                onChange={(e) => set('guestPort', e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') add();
                }}
              />
            </td>
            <td colSpan={2}>
              <button
                type="button"
                className="btn btn--compact btn--primary"
                data-testid="forward-add"
                disabled={busy}
                onClick={add}
              >
                {busy ? (
                  <span className="spinner spinner--small" />
                ) : (
                  <Icon name="plus" size={14} />
                )}
                Add
              </button>
            </td>
          </tr>
        </tbody>
      </table>
      {exposed ? (
        <label className={`check fwd__public${shownErrors.public ? ' is-error' : ''}`}>
          <input
            type="checkbox"
            id={`${id}-public`}
            checked={draft.public}
            onChange={(e) => set('public', e.target.checked)}
          />
          Other computers can reach it: listen on {draft.hostAddress.trim()}, not only on this
          computer
        </label>
      ) : null}
      {Object.values(shownErrors).map((m) => (
        <p key={m} className="field__error" role="alert">
          {m}
        </p>
      ))}
      {error ? (
        <p className="field__error" role="alert" data-testid="forward-error">
          {error}
        </p>
      ) : null}
      <p className="field__hint">
        {up
          ? 'Forwards added now work at once, no restart; they are kept for the next start.'
          : 'Forwards are kept and go live when the VM starts.'}
      </p>
    </div>
  );
}

function ForwardRow({
  vm,
  f,
  up,
  onNetwork,
}: {
  vm: VmSummary;
  f: ForwardInfo;
  up: boolean;
  onNetwork: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <tr data-testid="forward-row" data-spec={f.spec}>
        <td>{f.protocol.toUpperCase()}</td>
        <td className="mono">{f.hostAddress}</td>
        <td className="mono">{f.hostPort}</td>
        {onNetwork ? <td className="mono">{f.guestAddress ?? '—'}</td> : null}
        <td className="mono">{f.guestPort}</td>
        <td>
          {f.live ? (
            <span className="chip chip--good" data-testid="forward-live">
              <span className="chip__dot" />
              Live
            </span>
          ) : (
            <span className="chip" title={up ? 'Not active in the running QEMU' : undefined}>
              {up ? 'Not active' : 'At start'}
            </span>
          )}
        </td>
        <td className="fwd__actions">
          <button
            type="button"
            className="icon-btn"
            aria-label={`Remove forward ${f.spec}`}
            title="Remove this forward"
            disabled={busy}
            onClick={() => {
              setBusy(true);
              setError(null);
              void removeForward(vm.id, f.nic, f.protocol, f.hostPort).then((r) => {
                setBusy(false);
                if (!r.ok) setError(r.message);
              });
            }}
          >
            <Icon name="trash" size={15} />
          </button>
        </td>
      </tr>
      {error ? (
        <tr>
          <td colSpan={onNetwork ? 7 : 6} className="field__error" role="alert">
            {error}
          </td>
        </tr>
      ) : null}
    </>
  );
}

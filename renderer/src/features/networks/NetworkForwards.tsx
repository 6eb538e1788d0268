import { useState } from 'react';
import type { NetworkForward, NetworkSummary } from '../../../../common/contract';
import { addForward, loadNetworks, removeForward } from '../../actions/networks';
import { Icon } from '../../components/Icon';
import {
  emptyForwardDraft,
  forwardErrors,
  forwardIsExposed,
  forwardRequest,
  type ForwardDraft,
} from '../../lib/network-drafts';
// The forward table looks as it does on a VM's Network tab.
import '../vm/network/network.css';

/**
 * The port forwards of a NAT network: each goes from a host port to one guest address on it. A
 * forward is made for a VM's card on the network (the engine fills in its address when not typed).
 */
export function NetworkForwards({ network: n }: { network: NetworkSummary }) {
  const c = n.config;
  const [member, setMember] = useState(0);
  const [draft, setDraft] = useState<ForwardDraft>(emptyForwardDraft);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const target = n.members[member] ?? n.members[0];
  const errors = forwardErrors(draft, c.forwards, true);
  const shown = tried ? errors : {};
  const set = <K extends keyof ForwardDraft>(key: K, value: ForwardDraft[K]) => {
    setError(null);
    setDraft((d) => ({ ...d, [key]: value }));
  };

  const add = () => {
    setTried(true);
    if (!target || Object.keys(errors).length > 0) return;
    setBusy(true);
    setError(null);
    void addForward(target.vmId, target.nic, forwardRequest(draft, true)).then((r) => {
      setBusy(false);
      // The router's rules are the network's: its summary lists them.
      void loadNetworks();
      if (!r.ok) {
        setError(r.message);
        return;
      }
      setTried(false);
      setDraft(emptyForwardDraft());
    });
  };

  return (
    <div className="netfwd" data-testid="network-forwards">
      <h3 className="network__sub">Port forwards</h3>
      <table className="fwd__table fwd__table--net netfwd__table">
        <thead>
          <tr>
            <th scope="col">Protocol</th>
            <th scope="col">Host address</th>
            <th scope="col">Host port</th>
            <th scope="col">To</th>
            <th scope="col">Guest address</th>
            <th scope="col">Guest port</th>
            <th scope="col">
              <span className="visually-hidden">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {c.forwards.map((f) => (
            <NetworkForwardRow key={`${f.protocol}-${f.hostPort}`} network={n} f={f} />
          ))}
          {c.forwards.length === 0 ? (
            <tr className="fwd__none">
              <td colSpan={7} className="muted">
                No forwards: nothing outside reaches the VMs on it.
              </td>
            </tr>
          ) : null}
          {n.members.length > 0 ? (
            <tr className="fwd__add">
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
                  aria-invalid={shown.hostAddress ? true : undefined}
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
                  aria-invalid={shown.hostPort ? true : undefined}
                  onChange={(e) => set('hostPort', e.target.value)}
                />
              </td>
              <td>
                <select
                  aria-label="VM"
                  value={member}
                  onChange={(e) => {
                    setError(null);
                    setMember(Number(e.target.value));
                  }}
                >
                  {n.members.map((m, i) => (
                    <option key={`${m.vmId}-${m.nic}`} value={i}>
                      {m.vmName}
                      {n.members.filter((x) => x.vmId === m.vmId).length > 1
                        ? ` (card ${m.nic + 1})`
                        : ''}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <input
                  aria-label="Guest address"
                  className="mono"
                  placeholder={target?.addresses[0] ?? 'its address there'}
                  value={draft.guestAddress}
                  spellCheck={false}
                  aria-invalid={shown.guestAddress ? true : undefined}
                  onChange={(e) => set('guestAddress', e.target.value)}
                />
              </td>
              <td>
                <input
                  aria-label="Guest port"
                  className="mono"
                  inputMode="numeric"
                  placeholder="80"
                  value={draft.guestPort}
                  aria-invalid={shown.guestPort ? true : undefined}
                  onChange={(e) => set('guestPort', e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') add();
                  }}
                />
              </td>
              <td>
                <button
                  type="button"
                  className="btn btn--compact btn--primary"
                  data-testid="network-forward-add"
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
          ) : null}
        </tbody>
      </table>
      {n.members.length === 0 ? (
        <p className="field__hint">
          A forward goes to a VM on this network: attach a VM’s card to it first.
        </p>
      ) : null}
      {forwardIsExposed(draft) ? (
        <label className={`check fwd__public${shown.public ? ' is-error' : ''}`}>
          <input
            type="checkbox"
            checked={draft.public}
            onChange={(e) => set('public', e.target.checked)}
          />
          Other computers can reach it: listen on {draft.hostAddress.trim()}, not only on this
          computer
        </label>
      ) : null}
      {Object.values(shown).map((m) => (
        <p key={m} className="field__error" role="alert">
          {m}
        </p>
      ))}
      {error ? (
        <p className="field__error" role="alert" data-testid="network-forward-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

function NetworkForwardRow({ network: n, f }: { network: NetworkSummary; f: NetworkForward }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const member = f.vmId ? n.members.find((m) => m.vmId === f.vmId) : undefined;
  return (
    <>
      <tr data-testid="network-forward-row">
        <td>{f.protocol.toUpperCase()}</td>
        <td className="mono">{f.hostAddress}</td>
        <td className="mono">{f.hostPort}</td>
        <td>{member?.vmName ?? <span className="muted">—</span>}</td>
        <td className="mono">{f.guestAddress}</td>
        <td className="mono">{f.guestPort}</td>
        <td className="fwd__actions">
          <button
            type="button"
            className="icon-btn"
            aria-label={`Remove forward of port ${f.hostPort}`}
            // A forward is removed through the VM it was made for.
            title={member ? 'Remove this forward' : 'Made for a VM no longer on this network'}
            disabled={busy || !member}
            onClick={() => {
              if (!member) return;
              setBusy(true);
              setError(null);
              void removeForward(member.vmId, member.nic, f.protocol, f.hostPort).then((r) => {
                setBusy(false);
                void loadNetworks();
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
          <td colSpan={7} className="field__error" role="alert">
            {error}
          </td>
        </tr>
      ) : null}
    </>
  );
}

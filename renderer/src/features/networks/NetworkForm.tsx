import { useId, useState } from 'react';
import type { NetworkSummary } from '../../../../common/contract';
import { NETWORK_OPTION_HELP } from '../../../../common/rules/networks';
import { createNetwork, updateNetwork, type Outcome } from '../../actions/networks';
import { Icon } from '../../components/Icon';
import { Modal } from '../../components/Modal';
import {
  createNetworkRequest,
  emptyNetworkDraft,
  networkDraft,
  networkErrors,
  updateNetworkPatch,
  type NetworkDraft,
} from '../../lib/network-drafts';
import './networks.css';

/**
 * Create or edit a network: name, subnet (filled in with a free one), DHCP and NAT. `onDone` gets
 * the network as the engine saved it (a card's picker selects the one just made).
 */
export function NetworkForm({
  editing,
  networks,
  onClose,
  onDone,
}: {
  editing: NetworkSummary | null;
  networks: readonly NetworkSummary[];
  onClose: () => void;
  onDone?: (network: NetworkSummary) => void;
}) {
  const id = useId();
  const [draft, setDraft] = useState<NetworkDraft>(() =>
    editing ? networkDraft(editing) : emptyNetworkDraft(networks),
  );
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const errors = networkErrors(draft, networks, editing?.config.id ?? null);
  const shown = tried ? errors : {};
  const set = <K extends keyof NetworkDraft>(key: K, value: NetworkDraft[K]) => {
    setError(null);
    setDraft((d) => ({ ...d, [key]: value }));
  };
  const liveMembers = editing?.members.filter((m) => m.running) ?? [];

  const submit = () => {
    setTried(true);
    if (Object.keys(errors).length > 0) return;
    setBusy(true);
    setError(null);
    const done = (r: Outcome<NetworkSummary>) => {
      setBusy(false);
      if (!r.ok) {
        setError(r.message);
        return;
      }
      onDone?.(r.value);
      onClose();
    };
    if (editing) {
      const patch = updateNetworkPatch(draft, editing);
      if (!patch) {
        onClose();
        return;
      }
      void updateNetwork(editing.config.id, patch).then(done);
    } else {
      void createNetwork(createNetworkRequest(draft)).then(done);
    }
  };

  return (
    <Modal
      title={editing ? `Edit network “${editing.config.name}”` : 'New private network'}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="btn btn--primary"
            data-testid="network-submit"
            disabled={busy}
            onClick={submit}
          >
            {busy ? <span className="spinner spinner--small" /> : null}
            {editing ? 'Save' : 'Create network'}
          </button>
        </>
      }
    >
      <form
        className="network-form"
        data-testid="network-form"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <div className={`field${shown.name ? ' field--error' : ''}`}>
          <label htmlFor={`${id}-name`}>Name</label>
          <input
            id={`${id}-name`}
            value={draft.name}
            placeholder="lab"
            autoFocus
            spellCheck={false}
            autoComplete="off"
            aria-invalid={shown.name ? true : undefined}
            onChange={(e) => set('name', e.target.value)}
          />
          {shown.name ? (
            <p className="field__error" role="alert">
              {shown.name}
            </p>
          ) : (
            <p className="field__hint">Letters, digits, “.”, “_” and “-”; cards name it.</p>
          )}
        </div>
        <div className={`field${shown.subnet ? ' field--error' : ''}`}>
          <label htmlFor={`${id}-subnet`}>Subnet</label>
          <input
            id={`${id}-subnet`}
            className="mono"
            value={draft.subnet}
            placeholder="Automatic: a free /24 in 10.13.0.0/16"
            spellCheck={false}
            autoComplete="off"
            aria-invalid={shown.subnet ? true : undefined}
            onChange={(e) => set('subnet', e.target.value)}
          />
          {shown.subnet ? (
            <p className="field__error" role="alert">
              {shown.subnet}
            </p>
          ) : (
            <p className="field__hint">
              ADDRESS/PREFIX, like 10.13.5.0/24; filled in with one no other network uses.
            </p>
          )}
        </div>
        <label className="check network-form__opt">
          <input
            type="checkbox"
            checked={draft.dhcp}
            onChange={(e) => set('dhcp', e.target.checked)}
          />
          <span>
            <strong>DHCP</strong>
            <span className="network-form__help">{optionHelp('dhcp')}</span>
          </span>
        </label>
        <label className="check network-form__opt">
          <input
            type="checkbox"
            checked={draft.nat}
            onChange={(e) => set('nat', e.target.checked)}
          />
          <span>
            <strong>NAT</strong>
            <span className="network-form__help">{optionHelp('nat')}</span>
          </span>
        </label>
        {liveMembers.length > 0 ? (
          <p className="callout callout--info">
            <Icon name="info" size={15} />
            <span>
              The subnet, DHCP and NAT change only while no VM on it runs (now:{' '}
              {liveMembers.map((m) => m.vmName).join(', ')}).
            </span>
          </p>
        ) : null}
        {error ? (
          <p className="callout callout--error" role="alert" data-testid="network-form-error">
            <Icon name="alert" size={15} />
            <span>{error}</span>
          </p>
        ) : null}
        <button type="submit" hidden />
      </form>
    </Modal>
  );
}

/** The option's help without its leading "DHCP: " (the checkbox's name is beside it). */
function optionHelp(key: keyof typeof NETWORK_OPTION_HELP): string {
  const rest = NETWORK_OPTION_HELP[key].replace(/^[^:]+:\s*/, '');
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

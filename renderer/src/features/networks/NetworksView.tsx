import { useEffect, useState } from 'react';
import type { NetworkSummary } from '../../../../common/contract';
import { deleteNetwork, loadNetworks } from '../../actions/networks';
import { openVm } from '../../actions/ui';
import { BackButton } from '../../components/BackButton';
import { Icon } from '../../components/Icon';
import { Modal } from '../../components/Modal';
import { useNetworksStore } from '../../stores/networks';
import { NetworkForm } from './NetworkForm';
import { NetworkForwards } from './NetworkForwards';
import './networks.css';

type Editing = { kind: 'new' } | { kind: 'edit'; network: NetworkSummary } | null;

/** The private networks between VMs: what each is, which VMs are on it, and their addresses. */
export default function NetworksView() {
  const list = useNetworksStore((s) => s.list);
  const status = useNetworksStore((s) => s.status);
  const error = useNetworksStore((s) => s.error);
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<NetworkSummary | null>(null);

  useEffect(() => {
    void loadNetworks();
  }, []);

  return (
    <main className="networks" data-testid="networks-view">
      <div className="toolbar">
        <div className="toolbar__title">
          <BackButton className="networks__back" />
          <h2>Networks</h2>
          <span className="toolbar__count">
            Private networks: the VMs on one see each other and nothing else
          </span>
        </div>
        <div className="toolbar__actions">
          <button
            type="button"
            className="btn btn--primary"
            data-testid="new-network"
            onClick={() => setEditing({ kind: 'new' })}
          >
            <Icon name="plus" size={15} />
            New network
          </button>
        </div>
      </div>

      {error && list ? (
        <p className="callout callout--error" role="alert">
          <Icon name="alert" size={15} />
          <span>{error}</span>
        </p>
      ) : null}

      {list === null ? (
        status === 'error' ? (
          <div className="empty empty--page">
            <div className="empty__art empty__art--error">
              <Icon name="alert" size={28} />
            </div>
            <h3>Couldn’t list the networks</h3>
            <p>{error}</p>
            <button type="button" className="btn" onClick={() => void loadNetworks()}>
              <Icon name="refresh" size={15} />
              Try again
            </button>
          </div>
        ) : (
          <div className="vm-loading" aria-busy="true">
            <span className="spinner" /> Loading networks…
          </div>
        )
      ) : list.length === 0 ? (
        <div className="empty empty--page" data-testid="no-networks">
          <div className="empty__art">
            <Icon name="globe" size={28} />
          </div>
          <h3>No private networks yet</h3>
          <p>
            A private network joins VMs to each other, like a switch with cables to them. Make one,
            then choose it as a card’s attachment in a VM’s Network tab.
          </p>
          <button
            type="button"
            className="btn btn--primary"
            onClick={() => setEditing({ kind: 'new' })}
          >
            <Icon name="plus" size={15} />
            New network
          </button>
        </div>
      ) : (
        <div className="networks__list">
          {list.map((n) => (
            <NetworkCard
              key={n.config.id}
              network={n}
              onEdit={() => setEditing({ kind: 'edit', network: n })}
              onDelete={() => setDeleting(n)}
            />
          ))}
        </div>
      )}

      {editing ? (
        <NetworkForm
          editing={editing.kind === 'edit' ? editing.network : null}
          networks={list ?? []}
          onClose={() => setEditing(null)}
        />
      ) : null}
      {deleting ? <DeleteNetwork network={deleting} onClose={() => setDeleting(null)} /> : null}
    </main>
  );
}

function OnOff({ on }: { on: boolean }) {
  return on ? <span className="chip chip--good">On</span> : <span className="chip">Off</span>;
}

function NetworkCard({
  network: n,
  onEdit,
  onDelete,
}: {
  network: NetworkSummary;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const c = n.config;
  return (
    <section
      className="card network"
      aria-label={`Network ${c.name}`}
      data-testid="network-card"
      data-network={c.name}
    >
      <h2 className="card__title network__title">
        <Icon name="globe" size={16} />
        <span className="network__name">{c.name}</span>
        {n.running ? (
          <span className="chip chip--good">
            <span className="chip__dot" />
            Running
          </span>
        ) : (
          <span className="chip">Stopped</span>
        )}
        <span className="network__actions">
          <button type="button" className="btn btn--compact" onClick={onEdit}>
            <Icon name="sliders" size={14} />
            Edit
          </button>
          <button
            type="button"
            className="btn btn--compact btn--danger"
            data-testid="delete-network"
            onClick={onDelete}
          >
            <Icon name="trash" size={14} />
            Delete
          </button>
        </span>
      </h2>
      <dl className="network__facts">
        <div>
          <dt>Subnet</dt>
          <dd className="mono">{c.subnet}</dd>
        </div>
        <div>
          <dt>Gateway</dt>
          <dd className="mono">{n.gateway ?? '—'}</dd>
        </div>
        <div>
          <dt>DHCP</dt>
          <dd>
            <OnOff on={c.dhcp} />
          </dd>
        </div>
        <div>
          <dt>NAT</dt>
          <dd>
            <OnOff on={c.nat} />
          </dd>
        </div>
      </dl>
      <h3 className="network__sub">Members</h3>
      {n.members.length === 0 ? (
        <p className="muted network__empty">
          No VM is on it: choose it as a card’s attachment in a VM’s Network tab.
        </p>
      ) : (
        <table className="network__members" data-testid="network-members">
          <thead>
            <tr>
              <th scope="col">VM</th>
              <th scope="col">Card</th>
              <th scope="col">MAC</th>
              <th scope="col">State</th>
              <th scope="col">Addresses</th>
            </tr>
          </thead>
          <tbody>
            {n.members.map((m) => (
              <tr key={`${m.vmId}-${m.nic}`} data-testid="network-member" data-vm={m.vmName}>
                <td>
                  <button
                    type="button"
                    className="linkish"
                    onClick={() => openVm(m.vmId, 'network')}
                  >
                    {m.vmName}
                  </button>
                </td>
                <td>Card {m.nic + 1}</td>
                <td className="mono">{m.mac}</td>
                <td>
                  {m.running ? (
                    <span className="chip chip--good">
                      <span className="chip__dot" />
                      Running
                    </span>
                  ) : (
                    <span className="chip">Stopped</span>
                  )}
                </td>
                <td className="mono">
                  {m.addresses.length > 0 ? (
                    m.addresses.join(', ')
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {c.nat || c.forwards.length > 0 ? <NetworkForwards network={n} /> : null}
    </section>
  );
}

/**
 * Delete, with the engine's refusal shown when VMs use it, and the way out it allows: unplug the
 * cards of the stopped ones (running ones must be shut down first).
 */
function DeleteNetwork({ network: n, onClose }: { network: NetworkSummary; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const stopped = n.members.filter((m) => !m.running);
  const running = n.members.filter((m) => m.running);
  const run = (detach: boolean) => {
    setBusy(true);
    void deleteNetwork(n, detach).then((r) => {
      setBusy(false);
      if (r.ok) onClose();
      else setRefusal(r.message);
    });
  };
  return (
    <Modal
      title={`Delete network “${n.config.name}”?`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          {refusal && stopped.length > 0 && running.length === 0 ? (
            <button
              type="button"
              className="btn btn--danger-solid"
              data-testid="delete-network-detach"
              disabled={busy}
              onClick={() => run(true)}
            >
              Unplug stopped VMs’ cards and delete
            </button>
          ) : (
            <button
              type="button"
              className="btn btn--danger-solid"
              data-testid="delete-network-confirm"
              disabled={busy}
              onClick={() => run(false)}
            >
              Delete
            </button>
          )}
        </>
      }
    >
      <p>
        Its switch stops and its settings go. While a VM’s card is on it, it stays: move those cards
        to another attachment first, or unplug them.
      </p>
      {refusal ? (
        <div
          className="callout callout--error callout--block"
          role="alert"
          data-testid="delete-refusal"
        >
          <p>{refusal}</p>
          {stopped.length > 0 && running.length === 0 ? (
            <p>
              Unplugging sets those cards to “Not connected” in{' '}
              {stopped.map((m) => m.vmName).join(', ')}.
            </p>
          ) : null}
        </div>
      ) : null}
    </Modal>
  );
}

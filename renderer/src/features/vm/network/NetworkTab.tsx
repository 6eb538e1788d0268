import { useEffect, useState } from 'react';
import type { NicInfo, VmSummary } from '../../../../../common/contract';
import { isGuestUp } from '../../../../../common/vm-state';
import { NIC_MAX } from '../../../../../common/rules/networks';
import { addNic, loadNetworks, loadNics, removeNic } from '../../../actions/networks';
import { openNetworks } from '../../../actions/ui';
import { Icon } from '../../../components/Icon';
import { cardsLockedReason } from '../../../lib/network-drafts';
import { useNetworksStore } from '../../../stores/networks';
import type { TabProps } from '../tab-props';
import { NicCard } from './NicCard';
import './network.css';

/** How often addresses are re-read while the guest runs (its agent learns them over time). */
const REFRESH_MS = 5000;

/** The VM's network cards: how each is attached, its address, and its port forwards. */
export default function NetworkTab({ vm, active }: TabProps) {
  const nics = useNetworksStore((s) => s.nicsByVm[vm.id]);
  const networks = useNetworksStore((s) => s.list);
  const state = vm.runtime.state;
  const up = isGuestUp(state);

  useEffect(() => {
    if (useNetworksStore.getState().list === null) void loadNetworks();
  }, []);
  // The state decides which forwards are live and what the guest reports: re-read on each change.
  useEffect(() => {
    if (active) void loadNics(vm.id);
  }, [vm.id, state, active]);
  useEffect(() => {
    if (!active || !up) return;
    const t = setInterval(() => void loadNics(vm.id), REFRESH_MS);
    return () => clearInterval(t);
  }, [vm.id, active, up]);

  const locked = cardsLockedReason(state);
  const list = nics?.list ?? null;

  return (
    <div className="netcards" data-testid="network-tab">
      <div className="netcards__intro">
        <p>
          Up to {NIC_MAX} cards, each with its own MAC address. NAT cards and cards on a NAT network
          take port forwards, also while the VM runs.
        </p>
        <button type="button" className="btn btn--ghost" onClick={openNetworks}>
          <Icon name="globe" size={15} />
          Private networks
        </button>
      </div>
      {locked ? (
        <p className="callout callout--info netcards__lock" data-testid="cards-locked">
          <Icon name="lock" size={15} />
          <span>{locked}</span>
        </p>
      ) : null}
      {nics?.error ? (
        <p className="callout callout--error" role="alert">
          <Icon name="alert" size={15} />
          <span>{nics.error}</span>
        </p>
      ) : null}
      {list === null ? (
        nics?.error ? null : (
          <div className="vm-loading" aria-busy="true">
            <span className="spinner" /> Loading cards…
          </div>
        )
      ) : (
        <div className="netcards__grid">
          {list.map((info) => (
            <NicCard
              key={`${info.index}-${info.config.mac}`}
              vm={vm}
              info={info}
              all={list}
              networks={networks}
              locked={locked}
              onRemove={() => removeNic(vm.id, info.index)}
            />
          ))}
          <AddCard vm={vm} list={list} locked={locked} />
        </div>
      )}
    </div>
  );
}

function AddCard({ vm, list, locked }: { vm: VmSummary; list: NicInfo[]; locked: string | null }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const full = list.length >= NIC_MAX ? `A VM has at most ${NIC_MAX} cards.` : null;
  const why = locked ?? full;
  return (
    <div className="netcards__add">
      <button
        type="button"
        className="btn"
        data-testid="add-card"
        disabled={why !== null || busy}
        title={why ?? 'A new card on NAT, with a MAC address of its own'}
        onClick={() => {
          setBusy(true);
          setError(null);
          void addNic(vm.id).then((r) => {
            setBusy(false);
            if (!r.ok) setError(r.message);
          });
        }}
      >
        <Icon name="plus" size={15} />
        {list.length === 0 ? 'Add a network card' : `Add card ${list.length + 1}`}
      </button>
      {why ? <p className="field__hint">{why}</p> : null}
      {error ? (
        <p className="field__error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

import { useEffect } from 'react';
import type { VmSummary } from '../../../../../common/contract';
import { isGuestUp } from '../../../../../common/vm-state';
import { loadNics } from '../../../actions/networks';
import { navigate } from '../../../actions/ui';
import { Icon } from '../../../components/Icon';
import { label } from '../../../../../common/labels';
import { attachmentSummary } from '../../../lib/network-drafts';
import { useNetworksStore } from '../../../stores/networks';
import { Card, Fact, Facts } from './facts';

/** The cards in one line each, with the addresses the engine knows; the Network tab has the rest. */
export function NetworkCard({ vm, active }: { vm: VmSummary; active: boolean }) {
  const nics = useNetworksStore((s) => s.nicsByVm[vm.id]?.list ?? null);
  const up = isGuestUp(vm.runtime.state);
  // Addresses are known only while the guest runs: ask then (and when it stops, to clear them).
  useEffect(() => {
    if (active) void loadNics(vm.id);
  }, [vm.id, vm.runtime.state, active]);
  const cards = vm.config.nics;
  return (
    <Card title="Network" icon="globe">
      <Facts>
        {cards.length === 0 ? <Fact label="Cards">No network</Fact> : null}
        {cards.map((n, i) => {
          const info = nics?.find((x) => x.index === i && x.config.mac === n.mac);
          const forwards = n.attach.kind === 'nat' ? n.attach.forwards : [];
          return (
            <Fact key={n.mac} label={`Card ${i + 1}`}>
              <span data-testid={`overview-nic-${i}`}>
                {attachmentSummary(n.attach)}{' '}
                <span className="muted">
                  · {label('nicModel', n.model)} · {n.mac}
                </span>
              </span>
              {up && info && info.addresses.length > 0 ? (
                <div className="mono">{info.addresses.join(', ')}</div>
              ) : null}
              {info?.problem ? <div className="field__error">{info.problem}</div> : null}
              {forwards.length > 0 ? (
                <ul className="plain-list">
                  {forwards.map((f) => (
                    <li key={`${f.protocol}-${f.hostAddress}-${f.hostPort}`}>
                      {f.protocol.toUpperCase()} {f.hostAddress}:{f.hostPort} → guest {f.guestPort}
                    </li>
                  ))}
                </ul>
              ) : null}
            </Fact>
          );
        })}
      </Facts>
      <div className="card__actions">
        <button
          type="button"
          className="btn"
          data-testid="open-network-tab"
          onClick={() => navigate({ view: 'vm', vmId: vm.id, tab: 'network' })}
        >
          <Icon name="plug" size={15} />
          Cards and forwards
        </button>
      </div>
    </Card>
  );
}

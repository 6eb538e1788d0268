import { openHost, openNetworks } from '../actions/ui';
import { useHostStore } from '../stores/host';
import { useUiStore } from '../stores/ui';
import { accelLabel, formatMemory, plural } from '../../../common/format';
import { Icon, Logo } from './Icon';

export function Header() {
  const info = useHostStore((s) => s.info);
  const connection = useHostStore((s) => s.connection);
  const bridgeKind = useHostStore((s) => s.bridgeKind);
  const onHost = useUiStore((s) => s.route.view === 'host');
  const onNetworks = useUiStore((s) => s.route.view === 'networks');
  const qemu = info?.qemu.binaries[0];

  const facts = info
    ? [
        qemu ? `QEMU ${qemu.version}` : null,
        accelLabel(info.bestAccelerator),
        plural(info.cpus, 'CPU'),
        `${formatMemory(info.totalMemoryMiB)} RAM`,
      ].filter((f): f is string => f !== null)
    : [];

  return (
    <header className="app-header">
      <div className="app-header__brand">
        <Logo size={30} />
        <div>
          <h1>Vivarium</h1>
          <p className="app-header__sub">Virtual machines on your computer</p>
        </div>
      </div>
      <div className="app-header__host">
        {facts.length > 0 ? (
          <ul className="host-facts" aria-label="Host">
            {facts.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        ) : null}
        {bridgeKind === 'websocket' ? (
          <span className={`conn conn--${connection}`} role="status">
            <span className="conn__dot" aria-hidden="true" />
            {connection === 'open'
              ? 'Connected'
              : connection === 'connecting'
                ? 'Connecting…'
                : 'Reconnecting…'}
          </span>
        ) : null}
        <button
          type="button"
          className={`btn btn--ghost app-header__nav${onNetworks ? ' is-on' : ''}`}
          aria-current={onNetworks ? 'page' : undefined}
          title="Private networks between your VMs"
          onClick={openNetworks}
        >
          <Icon name="globe" size={16} />
          Networks
        </button>
        <button
          type="button"
          className={`btn btn--ghost app-header__nav${onHost ? ' is-on' : ''}`}
          aria-current={onHost ? 'page' : undefined}
          title="This computer, QEMU, accelerators and install media (H)"
          onClick={openHost}
        >
          <Icon name="gear" size={16} />
          Host
        </button>
      </div>
    </header>
  );
}

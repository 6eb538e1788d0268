import type { ReactNode } from 'react';
import type { VmSummary } from '../../../../../common/contract';
import { runVmOperation } from '../../../actions/vm';
import { navigate } from '../../../actions/ui';
import {
  accelLabel,
  formatDuration,
  formatMemory,
  osLabel,
  plural,
} from '../../../../../common/format';
import { ARCH_LABELS, firmwareLabel } from '../../../../../common/arch';
import { hostArchOf } from '../../../../../common/rules/guest-arch';
import { label } from '../../../../../common/labels';
import { isGuestUp } from '../../../../../common/vm-state';
import { useMediaName } from '../../../hooks/use-media-name';
import { useNow } from '../../../hooks/use-now';
import { useHostStore } from '../../../stores/host';
import { useUiStore } from '../../../stores/ui';
import { Icon } from '../../../components/Icon';
import { opLabel } from '../../../lib/save-state';
import { SavedSince } from '../../savestate/SaveState';
import { StateBadge } from '../../../components/StateBadge';
import { EjectInstallMedia } from '../../wizard/EjectInstallMedia';
import type { TabProps } from '../tab-props';
import { GuestCard } from './GuestCard';
import { Card, Fact, Facts } from './facts';
import { NetworkCard } from './NetworkCard';
import { DiskSizes } from '../hardware/DiskSizes';
import { MemoryCard } from './stats/MemoryCard';
import { PerformanceCard } from './stats/PerformanceCard';
import { ProcessCard } from './stats/ProcessCard';

/** What the VM is, what it runs under and why, and for how long. */
export default function OverviewTab({ vm, active }: TabProps) {
  const { config: c, runtime: r } = vm;
  const live = isGuestUp(r.state);
  const startedAt = r.startedAt ? Date.parse(r.startedAt) : NaN;
  const now = useNow(1000, active && live && !Number.isNaN(startedAt));
  return (
    <div className="overview" data-testid="overview">
      <div className="overview__grid">
        <Card title="Status" icon="info" className="card--status">
          <div className="status-line">
            <StateBadge state={r.state} />
            <SavedSince vm={vm} />
            {live && !Number.isNaN(startedAt) ? (
              <span className="status-line__uptime" data-testid="overview-uptime">
                <Icon name="clock" size={14} />
                Up {formatDuration(now - startedAt)}
              </span>
            ) : null}
          </div>
          <Facts>
            <Fact label="Process">{r.pid !== null ? `QEMU, pid ${r.pid}` : 'Not running'}</Fact>
            <Fact label="Architecture">
              <ArchFact vm={vm} />
            </Fact>
            <Fact label="Accelerator">
              <AccelWhy vm={vm} />
            </Fact>
          </Facts>
          {r.lastError ? (
            <p className="callout callout--error">
              <Icon name="alert" size={15} />
              <span>{r.lastError}</span>
            </p>
          ) : null}
          {r.state === 'crashed' && r.lastExit ? (
            <div className="callout callout--error callout--block">
              <p>
                <strong>QEMU ended unexpectedly</strong>{' '}
                {r.lastExit.signal
                  ? `(killed by ${r.lastExit.signal})`
                  : `(exit code ${r.lastExit.code ?? 'unknown'})`}
                . Fix what it says below, then start the VM again.
              </p>
              {r.lastExit.stderrTail ? <pre>{r.lastExit.stderrTail}</pre> : null}
            </div>
          ) : null}
          <EjectInstallMedia vm={vm} />
          <div className="card__actions">
            {live ? (
              <>
                <button
                  type="button"
                  className="btn btn--primary"
                  onClick={() => navigate({ view: 'vm', vmId: vm.id, tab: 'display' })}
                >
                  <Icon name="monitor" size={15} />
                  Open display
                </button>
                <button
                  type="button"
                  className="btn"
                  onClick={() => navigate({ view: 'vm', vmId: vm.id, tab: 'console' })}
                >
                  <Icon name="terminal" size={15} />
                  Open console
                </button>
              </>
            ) : r.state === 'stopped' || r.state === 'crashed' || r.state === 'saved' ? (
              <button
                type="button"
                className="btn btn--primary"
                onClick={() => void runVmOperation(vm.id, 'start')}
              >
                <Icon name="play" size={14} filled />
                {opLabel('start', r.state, 'Start')}
              </button>
            ) : null}
          </div>
        </Card>

        <GuestCard vm={vm} active={active} />

        {live ? (
          <>
            <PerformanceCard vm={vm} active={active} />
            <MemoryCard vm={vm} active={active} />
            <ProcessCard vm={vm} active={active} />
          </>
        ) : null}

        <Card title="Hardware" icon="chip">
          <Facts>
            <Fact label="Operating system">{osLabel(c.os)}</Fact>
            <Fact label="Memory">{formatMemory(c.memoryMiB)}</Fact>
            <Fact label="CPUs">
              {plural(c.cpu.count, 'CPU')} <span className="muted">· model {c.cpu.model}</span>
            </Fact>
            <Fact label="Machine">{label('machine', c.machine)}</Fact>
            <Fact label="Firmware">
              {firmwareLabel(c.arch, c.firmware)}
              {c.secureBoot ? ' · Secure Boot' : ''}
              {c.tpm ? ' · TPM 2.0' : ''}
            </Fact>
            <Fact label="Video">{label('video', c.video)}</Fact>
            <Fact label="Sound">{label('sound', c.sound)}</Fact>
            <Fact label="Pointer">{c.usbTablet ? 'USB tablet (absolute)' : 'PS/2 mouse'}</Fact>
          </Facts>
        </Card>

        <Card title="Boot" icon="boot">
          <Facts>
            <Fact label="Boot order">{c.bootOrder.map((b) => label('boot', b)).join(' → ')}</Fact>
            {c.kernelBoot ? (
              <>
                <Fact label="Kernel">
                  <Path>{c.kernelBoot.kernel}</Path>
                </Fact>
                {c.kernelBoot.initrd ? (
                  <Fact label="Initrd">
                    <Path>{c.kernelBoot.initrd}</Path>
                  </Fact>
                ) : null}
                <Fact label="Command line">
                  <Path>{c.kernelBoot.append || '(empty)'}</Path>
                </Fact>
              </>
            ) : null}
            <Fact label="CD-ROM">
              <CdromName path={c.cdrom} />
            </Fact>
          </Facts>
        </Card>

        <Card title="Storage" icon="disk" className="card--storage">
          <DiskSizes vm={vm} active={active} />
          <div className="card__actions">
            <button
              type="button"
              className="btn"
              data-testid="overview-manage-disks"
              onClick={() => navigate({ view: 'vm', vmId: vm.id, tab: 'hardware' })}
            >
              <Icon name="disk" size={15} />
              Manage disks
            </button>
          </div>
        </Card>

        <NetworkCard vm={vm} active={active} />

        <Card title="About" icon="folder">
          <Facts>
            <Fact label="Created">{new Date(c.createdAt).toLocaleString()}</Fact>
            <Fact label="Folder">
              <Path>{vm.dir}</Path>
            </Fact>
            <Fact label="Id">
              <Path>{vm.id}</Path>
            </Fact>
            {c.extraArgs.length ? (
              <Fact label="Extra QEMU arguments">
                <Path>{c.extraArgs.join(' ')}</Path>
              </Fact>
            ) : null}
          </Facts>
          {c.notes ? <p className="notes">{c.notes}</p> : null}
        </Card>
      </div>
    </div>
  );
}

/** The accelerator in use (or that will be) and the reason for it. */
/** The guest's architecture, and whether it runs as the host's own or emulated. */
function ArchFact({ vm }: { vm: VmSummary }) {
  const host = useHostStore((s) => s.info);
  const arch = vm.config.arch;
  const native = host ? hostArchOf(host) === arch : null;
  return (
    <span data-testid="overview-arch">
      {ARCH_LABELS[arch]}{' '}
      {native === null ? null : native ? (
        <span className="chip chip--good">this computer’s own</span>
      ) : (
        <span className="chip chip--warn">emulated</span>
      )}
    </span>
  );
}

function AccelWhy({ vm }: { vm: VmSummary }) {
  const host = useHostStore((s) => s.info);
  // The host notices shown as banners above the tabs: said there, not said again here.
  const notices = useHostStore((s) => s.notices);
  const dismissed = useUiStore((s) => s.dismissedNotices);
  const banners = notices.filter((n) => !dismissed.includes(n));
  const { config: c, runtime: r } = vm;
  const inUse = isGuestUp(r.state) || r.state === 'starting' ? r.accel : null;
  // Automatic gives the hardware accelerator only to the host's own architecture.
  const support = host?.arches?.find((a) => a.arch === c.arch);
  const planned =
    c.accel === 'auto' ? (support?.accelerator ?? host?.bestAccelerator ?? null) : c.accel;
  const name = inUse ?? planned;
  const emulated = support && !support.native && support.notice ? support.notice : null;
  const why =
    c.accel === 'auto' && emulated
      ? emulated
      : inUse && r.accelNotice
        ? banners.includes(r.accelNotice)
          ? 'A hardware accelerator is not usable here: the notice above says why.'
          : r.accelNotice
        : c.accel === 'auto'
          ? inUse
            ? 'The best accelerator that works on this computer (set to Automatic).'
            : 'Automatic: the best accelerator that works on this computer.'
          : `Chosen in this VM’s settings.`;
  // Accelerators that exist but failed their probe, unless the reason above already says so.
  // A notice holds the reason without its final period ("KVM is present but <reason>; ...").
  const said = (reason: string) => {
    const core = reason.trim().replace(/[.\s]+$/, '');
    return why.includes(core) || banners.some((n) => n.includes(core));
  };
  const broken = (host?.accelerators ?? []).filter(
    (a) => a.present && !a.usable && !(a.reason && said(a.reason)),
  );
  return (
    <div className="accel" data-testid="accel">
      <strong>{name ? accelLabel(name) : 'Unknown yet'}</strong>
      {inUse ? <span className="chip chip--good">in use</span> : null}
      <p className="muted">{why}</p>
      {broken.map((a) => (
        <p key={a.name} className="muted accel__why">
          {accelLabel(a.name, true)} is present but not usable
          {a.reason ? `: ${a.reason}` : '.'}
        </p>
      ))}
    </div>
  );
}

/** The image by the name people know it (an upload's own name and OS); the path on hover. */
function CdromName({ path }: { path: string | null }) {
  const name = useMediaName(path);
  if (!path) return <>Empty</>;
  return (
    <span className="cdrom-name" data-testid="overview-cdrom" title={path}>
      {name}
    </span>
  );
}

function Path({ children }: { children: ReactNode }) {
  return <code className="path">{children}</code>;
}

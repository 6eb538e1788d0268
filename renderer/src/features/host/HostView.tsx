import { useEffect } from 'react';
import type { AcceleratorReport, HostInfo, NodePlatform } from '../../../../common/contract';
import { loadHost, probeHost } from '../../actions/host';
import { loadMedia, watchMedia } from '../../actions/media';
import { loadSettings } from '../../actions/settings';
import { setTheme } from '../../actions/theme';
import { BackButton } from '../../components/BackButton';
import { Icon } from '../../components/Icon';
import { accelLabel, formatBytes, formatMemory, plural } from '../../../../common/format';
import { useHostStore } from '../../stores/host';
import { useThemeStore, type ThemeChoice } from '../../stores/theme';
import { ArchCard } from './ArchCard';
import { MediaCard } from './MediaCard';
import { HostResources } from './HostResources';
import { VmTopTable } from './VmTopTable';
import { useStatsFeed } from '../../hooks/use-stats';
import { OnQuitCard } from './OnQuitCard';
import { Card, Fact, Facts, Path } from './parts';
import './host.css';

const PLATFORMS: Record<NodePlatform, string> = {
  linux: 'Linux',
  darwin: 'macOS',
  win32: 'Windows',
  freebsd: 'FreeBSD',
  openbsd: 'OpenBSD',
  other: 'Other',
};

/** What each accelerator is, in one line. */
const ACCEL_WHAT: Record<AcceleratorReport['name'], string> = {
  kvm: 'Linux’s hardware virtualization: the processor runs the guest’s code itself, at nearly native speed.',
  hvf: 'macOS’s Hypervisor.framework: hardware virtualization, at nearly native speed.',
  whpx: 'Windows Hypervisor Platform: hardware virtualization on Windows.',
  tcg: 'QEMU’s own translator: it rewrites every guest instruction, so it works everywhere, several times slower.',
};

/**
 * The Host view: this computer, QEMU and its accelerators (as probed), firmware and TPM, and the
 * install-media cache with unfinished downloads.
 */
export default function HostView() {
  const info = useHostStore((s) => s.info);
  const error = useHostStore((s) => s.error);

  useStatsFeed();
  useEffect(() => {
    void loadMedia();
    void loadSettings();
    return watchMedia();
  }, []);

  return (
    <main className="host" data-testid="host-view">
      <div className="toolbar">
        <div className="toolbar__title">
          <BackButton className="host__back" />
          <h2>Host</h2>
          <span className="toolbar__count">This computer, QEMU and install media</span>
        </div>
      </div>

      <div className="host__live">
        <VmTopTable />
        <HostResources />
      </div>

      {info ? (
        <div className="host__grid">
          <ComputerCard info={info} />
          <VirtualizationCard info={info} />
          <FirmwareCard info={info} />
        </div>
      ) : error ? (
        <div className="empty">
          <div className="empty__art empty__art--error">
            <Icon name="alert" size={28} />
          </div>
          <h3>Couldn’t read this computer’s QEMU setup</h3>
          <p>{error}</p>
          <button type="button" className="btn btn--primary" onClick={() => void loadHost(true)}>
            Try again
          </button>
        </div>
      ) : (
        <div className="host__grid" aria-busy="true" aria-label="Probing QEMU">
          {[0, 1, 2].map((i) => (
            <div className="card card--skeleton" key={i} />
          ))}
        </div>
      )}

      {info ? <ArchCard info={info} /> : null}
      <MediaCard />
      <AppearanceCard />
      <OnQuitCard />
    </main>
  );
}

function ComputerCard({ info }: { info: HostInfo }) {
  return (
    <Card title="This computer" icon="monitor" className="host__computer" testId="host-computer">
      <Facts>
        <Fact label="System">
          {PLATFORMS[info.platform]} <span className="muted">· {info.arch}</span>
        </Fact>
        <Fact label="Processors">
          {plural(info.cpus, 'CPU')}{' '}
          <span className="muted">· a VM can have up to {info.cpus}</span>
        </Fact>
        <Fact label="Memory">{formatMemory(info.totalMemoryMiB)}</Fact>
        <Fact label="Free disk">
          {info.freeDiskBytes === null ? (
            'Unknown'
          ) : (
            <>
              {formatBytes(info.freeDiskBytes)}{' '}
              <span className="muted">· on the disk where VMs live</span>
            </>
          )}
        </Fact>
        <Fact label="Data folder">
          <Path>{info.dataDir}</Path>
          <p className="muted host__hint">
            VMs, their disks and snapshots, and downloaded install media.
          </p>
        </Fact>
      </Facts>
    </Card>
  );
}

/** QEMU's binaries, qemu-img, and the accelerators with the probe's verdict. */
function VirtualizationCard({ info }: { info: HostInfo }) {
  const probing = useHostStore((s) => s.probing);
  const missing = info.qemuMissing;
  const command = missing ? /install it with: (.+?) — /.exec(missing)?.[1] : undefined;
  return (
    <Card title="Virtualization" icon="cpu" className="host__virt" testId="host-virtualization">
      <p className="host__intro">
        <strong>QEMU</strong> plays the computer each VM runs on: its chipset, disks, screen and
        network. An <strong>accelerator</strong> runs the guest’s processor instructions.
      </p>
      {missing ? (
        <div className="callout callout--error callout--block" role="alert">
          <p>
            <strong>QEMU is not available.</strong> {missing}
          </p>
          {command ? <pre className="host__command">{command}</pre> : null}
        </div>
      ) : null}
      <Facts>
        <Fact label="QEMU">
          {info.qemu.binaries.length === 0 ? (
            <span className="chip chip--bad">Not found</span>
          ) : (
            <ul className="plain-list">
              {info.qemu.binaries.map((b) => (
                <li key={b.path} data-testid="qemu-binary">
                  <strong>QEMU {b.version}</strong> <span className="muted">· {b.arch}</span>
                  <br />
                  <Path>{b.path}</Path>
                </li>
              ))}
            </ul>
          )}
        </Fact>
        <Fact label="qemu-img">
          {info.qemu.img ? (
            <>
              <strong>{info.qemu.img.version}</strong>
              <br />
              <Path>{info.qemu.img.path}</Path>
            </>
          ) : (
            <>
              <span className="chip chip--bad">Not found</span>{' '}
              <span className="muted">Needed to create, resize and convert disks.</span>
            </>
          )}
        </Fact>
      </Facts>

      <h3 className="host__subtitle">Accelerators</h3>
      <p className="host__verdict" data-testid="host-verdict">
        VMs set to Automatic run under <strong>{accelLabel(info.bestAccelerator)}</strong>.
      </p>
      <ul className="accel-list">
        {info.accelerators.map((a) => (
          <AccelRow key={a.name} accel={a} best={a.name === info.bestAccelerator} />
        ))}
      </ul>
      <div className="card__actions">
        <button
          type="button"
          className={`btn${probing ? ' btn--busy' : ''}`}
          disabled={probing}
          onClick={() => void probeHost()}
          title="Look for QEMU again and test each accelerator with a tiny guest"
        >
          {probing ? (
            <span className="spinner spinner--small" />
          ) : (
            <Icon name="refresh" size={15} />
          )}
          {probing ? 'Probing…' : 'Probe again'}
        </button>
        <span className="muted host__hint">
          After installing QEMU or fixing KVM: a tiny test guest runs under each accelerator.
        </span>
      </div>
    </Card>
  );
}

function AccelRow({ accel, best }: { accel: AcceleratorReport; best: boolean }) {
  const [tone, label] = accel.usable
    ? best
      ? (['good', 'In use'] as const)
      : (['good', 'Works'] as const)
    : accel.present
      ? (['bad', 'Present, not usable'] as const)
      : (['neutral', 'Not available'] as const);
  return (
    <li className="accel-row" data-testid="accel-row" data-accel={accel.name}>
      <div className="accel-row__head">
        <strong>{accelLabel(accel.name, true)}</strong>
        <span className={`chip chip--${tone}`} data-testid="accel-verdict">
          {tone === 'good' ? <span className="chip__dot" /> : null}
          {label}
        </span>
      </div>
      <p className="muted">{ACCEL_WHAT[accel.name]}</p>
      {accel.reason ? (
        <p className={`accel-row__reason${accel.present ? ' accel-row__reason--bad' : ''}`}>
          {sentence(accel.reason)}
        </p>
      ) : null}
    </li>
  );
}

function FirmwareCard({ info }: { info: HostInfo }) {
  const fw = info.firmware;
  return (
    <Card title="Firmware and TPM" icon="chip" className="host__firmware" testId="host-firmware">
      <Facts>
        <Fact label="BIOS">
          <Found
            name="SeaBIOS"
            paths={[fw.seabios]}
            what="The classic PC BIOS: boots most systems and older installers."
          />
        </Fact>
        <Fact label="UEFI">
          <Found
            name="OVMF"
            paths={[fw.ovmfCode, fw.ovmfVars]}
            what="UEFI firmware, for modern systems."
          />
        </Fact>
        <Fact label="Secure Boot">
          <Found
            name="OVMF with Secure Boot"
            paths={[fw.ovmfSecureBootCode ?? null, fw.ovmfSecureBootVars ?? null]}
            what="UEFI that boots only signed loaders, with Microsoft’s keys (Windows 11)."
          />
        </Fact>
        <Fact label="TPM 2.0">
          <Found
            name="swtpm"
            paths={[info.swtpm ?? null]}
            what="Emulates a VM’s TPM chip (Windows 11 needs one)."
          />
        </Fact>
      </Facts>
    </Card>
  );
}

const THEMES: readonly { value: ThemeChoice; label: string }[] = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

/** Light or dark, or whatever the system uses; remembered by this browser (or the app). */
function AppearanceCard() {
  const choice = useThemeStore((s) => s.choice);
  const resolved = useThemeStore((s) => s.resolved);
  return (
    <Card title="Appearance" icon="sliders" className="host__appearance" testId="host-appearance">
      <div className="appearance">
        <div className="segmented" role="radiogroup" aria-label="Theme">
          {THEMES.map(({ value, label }) => (
            <label key={value} className={choice === value ? 'is-on' : undefined}>
              <input
                type="radio"
                name="theme"
                value={value}
                checked={choice === value}
                onChange={() => setTheme(value)}
              />
              {label}
            </label>
          ))}
        </div>
        <p className="muted host__hint" data-testid="theme-hint">
          {choice === 'system'
            ? `Follows this computer’s setting: ${resolved} now.`
            : `Always ${choice}, whatever this computer’s setting.`}
        </p>
      </div>
    </Card>
  );
}

/** A firmware file (or a program) and where it is, or that it is missing. */
function Found({ name, paths, what }: { name: string; paths: (string | null)[]; what: string }) {
  const found = paths.filter((p): p is string => p !== null);
  // Found when its first file is (the vars template may be optional).
  const ok = paths[0] !== null && paths[0] !== undefined;
  return (
    <div className="found" data-testid="firmware" data-found={ok}>
      <div className="found__head">
        <strong>{name}</strong>
        {ok ? null : <span className="chip chip--warn">Not found</span>}
      </div>
      <p className="muted host__hint">{what}</p>
      {found.map((p) => (
        <Path key={p}>{p}</Path>
      ))}
    </div>
  );
}

/** The engine's reasons read as clauses ("a test guest hung…"); shown alone, they start a sentence. */
function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

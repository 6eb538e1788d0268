import { ARCH_LABELS, archPreset, type VmArch } from '../../../../common/arch';
import type { ArchSupport, HostInfo } from '../../../../common/contract';
import { hostArchOf } from '../../../../common/rules/guest-arch';
import { accelLabel } from '../../../../common/format';
import { Card, Path } from './parts';

/**
 * Guests of each architecture on this computer: its QEMU emulator and the firmware its preset
 * boots with, found or not; the accelerator it gets (the hardware one only for the host's own,
 * emulation otherwise, with how much slower); the install command for what is missing.
 */
export function ArchCard({ info }: { info: HostInfo }) {
  const arches = info.arches;
  const ready = arches?.filter((a) => a.ready).length ?? 0;
  return (
    <Card
      title="Guest architectures"
      icon="cpu"
      className="host__arches"
      testId="host-arches"
      aside={arches ? `${ready} of ${arches.length} ready` : undefined}
    >
      <p className="host__intro">
        Each architecture runs on its own QEMU emulator and firmware. Guests of this computer’s own
        architecture use its <strong>hardware accelerator</strong>; the others are{' '}
        <strong>emulated</strong> by QEMU’s translator, which works everywhere but is slower.
      </p>
      {arches ? (
        <ul className="arch-list">
          {arches.map((a) => (
            <ArchRow key={a.arch} a={a} own={hostArchOf(info)} />
          ))}
        </ul>
      ) : (
        <p className="muted">This engine does not report architectures other than x86-64.</p>
      )}
    </Card>
  );
}

function ArchRow({ a, own }: { a: ArchSupport; own: VmArch | null }) {
  const preset = archPreset(a.arch);
  return (
    <li className="arch-row" data-testid="arch-row" data-arch={a.arch} data-ready={a.ready}>
      <div className="arch-row__head">
        <strong>{ARCH_LABELS[a.arch]}</strong>
        {a.ready ? (
          <span className="chip chip--good">
            <span className="chip__dot" />
            Ready
          </span>
        ) : (
          <span className="chip chip--bad">{a.qemu ? 'Firmware missing' : 'Not installed'}</span>
        )}
        <span className={`chip${a.native ? ' chip--good' : ''}`} data-testid="arch-accel">
          {accelLabel(a.accelerator)}
        </span>
        {a.arch === own ? <span className="chip">this computer’s own</span> : null}
      </div>
      <dl className="arch-row__facts">
        <div>
          <dt>QEMU</dt>
          <dd>
            {a.qemu ? (
              <>
                {a.qemu.version} <Path>{a.qemu.path}</Path>
              </>
            ) : (
              <span className="muted">{preset.qemuBinary} not found</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Firmware</dt>
          <dd>
            {a.firmware.length === 0 ? (
              <span className="muted">Built into QEMU</span>
            ) : (
              <ul className="plain-list">
                {a.firmware.map((f) => (
                  <li key={f.what} data-found={f.path !== null}>
                    {f.what}:{' '}
                    {f.path ? (
                      <Path>{f.path}</Path>
                    ) : (
                      <span className="chip chip--warn">not found ({f.package})</span>
                    )}
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </div>
      </dl>
      {a.notice && a.ready ? <p className="muted host__hint">{a.notice}</p> : null}
      {a.install ? (
        <>
          <p className="host__hint">Install what is missing:</p>
          <pre className="host__command" data-testid="arch-install">
            {a.install}
          </pre>
        </>
      ) : null}
    </li>
  );
}

/** Which accelerator a VM gets: pure decisions over a {@link HostInfo}. */
import type { Accelerator, AcceleratorReport, HostInfo } from '../../../common/contract';
import { ARCH_LABELS, type VmArch } from '../../../common/arch';
import { VivariumError } from '../errors';
import { archSupportOf, emulatorArch } from './arch-support';

const NAMES: Record<Accelerator, string> = { kvm: 'KVM', hvf: 'HVF', whpx: 'WHPX', tcg: 'TCG' };
const SLOWER = 'VMs will run under TCG, which is slower.';

/** Drops a trailing full stop so a reason can sit inside a sentence. */
function clause(text: string): string {
  return text.trim().replace(/[.\s]+$/, '');
}

/**
 * The notice shown when a hardware accelerator is not usable and VMs fall back to TCG, e.g.
 * "KVM is present but a test guest hung under it (nested or broken virtualization); VMs will run
 * under TCG, which is slower." Null for TCG itself and for a usable accelerator. Reasons are
 * written to follow "<name> is present but".
 */
export function fallbackNotice(report: AcceleratorReport): string | null {
  if (report.name === 'tcg' || report.usable) return null;
  const name = NAMES[report.name];
  const why = report.reason ? clause(report.reason) : 'it did not pass the test';
  if (report.present) return `${name} is present but ${why}; ${SLOWER}`;
  return `No hardware acceleration: ${why}; ${SLOWER}`;
}

function hardwareReport(host: HostInfo): AcceleratorReport | undefined {
  return host.accelerators.find((a) => a.name !== 'tcg');
}

/**
 * The accelerator a VM runs under. 'auto' takes the host's best, with a notice when that is the
 * TCG fallback; an accelerator asked for by name must have passed the probe, else BAD_STATE.
 */
export function resolveAccelerator(
  host: HostInfo,
  requested: 'auto' | Accelerator,
): { accel: Accelerator; notice: string | null } {
  if (host.qemuMissing) throw new VivariumError('QEMU_MISSING', host.qemuMissing);
  if (requested === 'auto') {
    const accel = host.bestAccelerator;
    if (accel !== 'tcg') return { accel, notice: null };
    const hw = hardwareReport(host);
    if (!hw) {
      return {
        accel,
        notice: `This host has no hardware accelerator QEMU can use; ${SLOWER}`,
      };
    }
    return { accel, notice: fallbackNotice(hw) };
  }
  const report = host.accelerators.find((a) => a.name === requested);
  if (report?.usable) return { accel: requested, notice: null };
  const name = NAMES[requested];
  const best = NAMES[host.bestAccelerator];
  const why = report
    ? report.reason
      ? clause(report.reason)
      : 'it did not pass the test'
    : `it is not available on this host (${host.platform})`;
  throw new VivariumError(
    'BAD_STATE',
    `This VM asks for ${name}, but ${name} can't be used here: ${why}. ` +
      `Set the VM's accelerator to 'auto' to use the best one that works here (${best}).`,
  );
}

/**
 * The accelerator of a VM of `arch`: the host's own architecture goes through
 * {@link resolveAccelerator}; any other is emulated (TCG), with the notice that says how much
 * slower, and refuses a hardware accelerator asked for by name.
 */
export function resolveArchAccelerator(
  host: HostInfo,
  arch: VmArch,
  requested: 'auto' | Accelerator,
): { accel: Accelerator; notice: string | null } {
  const support = archSupportOf(host, arch);
  const own = emulatorArch(arch) === host.arch;
  if (own || !support) return resolveAccelerator(host, requested);
  if (host.qemuMissing) throw new VivariumError('QEMU_MISSING', host.qemuMissing);
  if (requested !== 'auto' && requested !== 'tcg') {
    throw new VivariumError(
      'BAD_STATE',
      `${NAMES[requested]} runs only guests of this computer’s own architecture; this ${ARCH_LABELS[arch]} guest is emulated: set the VM's accelerator to 'auto'.`,
    );
  }
  return { accel: 'tcg', notice: support.notice };
}

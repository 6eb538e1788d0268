import type { VmState } from '../../../common/contract';
import { requestVmOperation } from '../actions/vm';
import { opLabel } from '../lib/save-state';
import { canRun, STATES } from '../lib/vm-state';
import { useUiStore, type VmOperation } from '../stores/ui';
import { Icon, type IconName } from './Icon';

export interface OpSpec {
  op: VmOperation;
  label: string;
  icon: IconName;
  variant: 'primary' | 'secondary' | 'danger';
  /** Shortcut shown in the tooltip. */
  hint?: string;
}

export const OPS: Record<VmOperation, OpSpec> = {
  start: { op: 'start', label: 'Start', icon: 'play', variant: 'primary' },
  pause: { op: 'pause', label: 'Pause', icon: 'pause', variant: 'secondary' },
  resume: { op: 'resume', label: 'Resume', icon: 'play', variant: 'secondary' },
  suspend: { op: 'suspend', label: 'Suspend', icon: 'moon', variant: 'secondary' },
  shutdown: { op: 'shutdown', label: 'Shut down', icon: 'power', variant: 'secondary' },
  powerOff: { op: 'powerOff', label: 'Power off', icon: 'stop', variant: 'danger' },
  reset: { op: 'reset', label: 'Reset', icon: 'refresh', variant: 'secondary' },
};

const TITLES: Record<VmOperation, string> = {
  start: 'Start the VM',
  pause: 'Freeze the VM where it is',
  resume: 'Let the VM run again',
  suspend: 'Save memory and devices to disk and stop QEMU; Start resumes it where it was',
  shutdown: 'Press the power button and wait for the guest to shut down',
  powerOff: 'Cut the power at once (unsaved work in the guest is lost)',
  reset: 'Hard restart, like a reset button (unsaved work in the guest is lost)',
};

export function OpButton({
  vmId,
  state,
  spec,
  hint,
  small = false,
  iconOnly = false,
}: {
  vmId: string;
  state: VmState;
  spec: OpSpec;
  hint?: string | undefined;
  small?: boolean;
  /** Only the icon (a narrow row); the label becomes its accessible name and tooltip. */
  iconOnly?: boolean;
}) {
  const pending = useUiStore((s) => s.pending[vmId]);
  const busy = pending === spec.op;
  const label = opLabel(spec.op, state, spec.label);
  const title = label === spec.label ? TITLES[spec.op] : 'Resume the VM where it was saved';
  return (
    <button
      type="button"
      className={`btn btn--${spec.variant}${busy ? ' btn--busy' : ''}${small ? ' btn--compact' : ''}${iconOnly ? ' btn--icon' : ''}`}
      disabled={!canRun(state, spec.op, pending)}
      aria-busy={busy || undefined}
      data-op={spec.op}
      aria-label={iconOnly ? label : undefined}
      title={`${iconOnly ? `${label}: ` : ''}${hint ? `${title} (${hint})` : title}`}
      onClick={() => requestVmOperation(vmId, spec.op)}
    >
      <Icon name={spec.icon} size={14} filled={spec.icon !== 'power' && spec.icon !== 'refresh'} />
      {iconOnly ? null : label}
    </button>
  );
}

/** Only the operations this state allows (the VM window's header). */
export function allowedOps(state: VmState): OpSpec[] {
  return STATES[state].allowed.map((op) => OPS[op]);
}

import { useEffect } from 'react';
import { ARCH_LABELS, VM_ARCHES, type VmArch } from '../../../../../../common/arch';
import type { VmSummary } from '../../../../../../common/contract';
import {
  ARCH_CHANGE_DISKS_NOTE,
  archChangeLines,
  archUnavailableReason,
  hostArchOf,
} from '../../../../../../common/rules/guest-arch';
import { archChangeProblem } from '../../../../../../common/rules/vm-settings';
import { isOff, isSaved } from '../../../../../../common/vm-state';
import { loadSnapshots } from '../../../../actions/snapshots';
import { useSnapshotsStore } from '../../../../stores/snapshots';
import { draftForArch } from '../draft';
import { Row, Section, type SettingsForm } from '../form';

/**
 * The guest's architecture: a stopped VM without saved state or snapshots moves to another one,
 * its machine and firmware following the new preset (shown before saving); the disks stay.
 */
export function ArchSection({ form, vm }: { form: SettingsForm; vm: VmSummary }) {
  const base = vm.config;
  const snaps = useSnapshotsStore((s) => s.byVm[vm.id]);
  useEffect(() => {
    if (!snaps) void loadSnapshots(vm.id);
  }, [vm.id, snaps]);
  const state = vm.runtime.state;
  const problem = archChangeProblem({
    qemuRunning: !isOff(state) && !isSaved(state),
    saved: isSaved(state),
    snapshots: snaps?.list?.snapshots.length ?? 0,
  });
  const d = form.draft;
  const changing = d.arch !== base.arch;
  // Snapshots not known yet: wait rather than offer a change the engine may refuse.
  const unknown = !snaps?.list && snaps?.status !== 'error';
  const locked = (problem !== null && !changing) || unknown;
  const native = hostArchOf(form.host);
  const missing = archUnavailableReason(form.host, d.arch);
  const err = form.err('arch');
  const hint = changing ? (
    <span data-testid="arch-change">
      {archChangeLines(base, d).map((l) => (
        <span key={l} className="arch-change__line">
          {l}
        </span>
      ))}
      <span className="arch-change__line">{ARCH_CHANGE_DISKS_NOTE}</span>
    </span>
  ) : (
    (problem ?? (unknown ? 'Reading its snapshots…' : null))
  );
  return (
    <Section title="Architecture">
      <Row form={form} field="arch" label="Guest architecture" hint={hint}>
        <select
          id={`${form.id}-arch`}
          data-testid="settings-arch"
          value={d.arch}
          disabled={locked || form.locked('arch')}
          title={problem ?? undefined}
          onChange={(e) => {
            form.setDraft(draftForArch(d, base, e.target.value as VmArch));
          }}
        >
          {VM_ARCHES.map((a) => (
            <option key={a} value={a}>
              {ARCH_LABELS[a]}
              {a === native ? ' (this computer’s own)' : ''}
            </option>
          ))}
        </select>
      </Row>
      {changing && problem ? (
        <p className="field__error" role="alert">
          {problem}
        </p>
      ) : null}
      {!err && missing ? (
        <p className="field__error" role="alert" data-testid="settings-arch-missing">
          {missing}
        </p>
      ) : null}
    </Section>
  );
}

import { useId, useMemo, useState } from 'react';
import type { VmConfig } from '../../../../../common/contract';
import {
  canChangeWhileRunning,
  canChangeWhileSaved,
  savedToChangeMessage,
  stopToChangeMessage,
} from '../../../../../common/rules/vm-settings';
import { isGuestUp, isOff, isSaved } from '../../../../../common/vm-state';
import { runVmOperation, updateVm } from '../../../actions/vm';
import { Icon } from '../../../components/Icon';
import { settingsLockReason } from '../../../lib/save-state';
import { DiscardStateButton } from '../../savestate/SaveState';
import { useHostStore } from '../../../stores/host';
import type { TabProps } from '../tab-props';
import { checkDraft, draftOf, type Draft } from './draft';
import type { SettingsForm } from './form';
import { AdvancedSection } from './sections/advanced';
import { ArchSection } from './sections/arch';
import { BootSection } from './sections/boot';
import { DangerSection } from './sections/danger';
import { GeneralSection } from './sections/general';
import { MachineSection } from './sections/machine';
import { ProcessorSection } from './sections/processor';
import { SecuritySection } from './sections/security';
import { StorageSection } from './sections/storage';

/** Edit the VM's configuration, validated by the contract's own schema as you type. */
export default function SettingsTab({ vm, active }: TabProps) {
  const config = vm.config;
  const state = vm.runtime.state;
  const off = isOff(state);
  const saved = isSaved(state);
  const lockedReason = settingsLockReason(vm.name, state, off);
  const canChange = saved ? canChangeWhileSaved : canChangeWhileRunning;
  const host = useHostStore((s) => s.info);
  const [draft, setDraft] = useState<Draft>(() => draftOf(config));
  const [base, setBase] = useState<VmConfig>(config);
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const id = useId();

  const check = useMemo(() => checkDraft(draft, base, host, !off), [draft, base, host, off]);
  const { patch, errors, changed, blocked, valid } = check;

  // The config changed elsewhere (CLI, another window) and nothing is being edited: follow it.
  const dirty = changed.length > 0;
  if (config !== base && !dirty) {
    setBase(config);
    setDraft(draftOf(config));
  }
  const allErrors = { ...errors, ...serverErrors };

  const save = async () => {
    if (!dirty || !valid || blocked.length) return;
    setSaving(true);
    const res = await updateVm(vm.id, patch);
    setSaving(false);
    if (res.ok) {
      setBase(res.vm.config);
      setDraft(draftOf(res.vm.config));
      setServerErrors({});
    } else if (res.error.fields) {
      setServerErrors(res.error.fields);
    }
  };

  const form: SettingsForm = {
    id,
    draft,
    host,
    set: (key, value) => {
      setDraft((d) => ({ ...d, [key]: value }));
      if (Object.keys(serverErrors).length) setServerErrors({});
    },
    setDraft: (next) => {
      setDraft(next);
      if (Object.keys(serverErrors).length) setServerErrors({});
    },
    err: (key) => allErrors[key],
    locked: (key) => !canChange(key) && lockedReason !== null,
    lockedReason,
  };

  return (
    <form
      className="settings"
      data-testid="settings"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      {saved ? (
        <div className="callout callout--info settings__lock" data-testid="settings-saved-lock">
          <Icon name="lock" size={16} />
          <span>{lockedReason} Its name and notes can change.</span>
          <DiscardStateButton vm={vm} compact />
        </div>
      ) : lockedReason ? (
        <div className="callout callout--info settings__lock">
          <Icon name="lock" size={16} />
          <span>
            {vm.name} is {state}: only its name, notes and whether it asks before Power off can
            change now. Shut it down to change its hardware.
          </span>
          {isGuestUp(state) ? (
            <button
              type="button"
              className="btn btn--compact"
              onClick={() => void runVmOperation(vm.id, 'shutdown')}
            >
              <Icon name="power" size={14} />
              Shut down
            </button>
          ) : null}
        </div>
      ) : null}

      <div className="settings__grid">
        <GeneralSection form={form} />
        <ArchSection form={form} vm={vm} />
        <ProcessorSection form={form} />
        <MachineSection form={form} />
        <SecuritySection form={form} />
        <BootSection form={form} />
        <StorageSection vm={vm} active={active} />
        <AdvancedSection form={form} />
        <DangerSection vmId={vm.id} off={off || saved} />
      </div>

      <div className={`savebar${dirty ? ' savebar--dirty' : ''}`}>
        <span className="savebar__msg">
          {!dirty
            ? 'No changes'
            : blocked.length
              ? saved
                ? savedToChangeMessage(blocked)
                : stopToChangeMessage(blocked)
              : !valid
                ? 'Fix the fields marked in red.'
                : `${changed.length} change${changed.length === 1 ? '' : 's'} not saved`}
        </span>
        <button
          type="button"
          className="btn"
          disabled={!dirty || saving}
          onClick={() => {
            setDraft(draftOf(base));
            setServerErrors({});
          }}
        >
          Revert
        </button>
        <button
          type="submit"
          className={`btn btn--primary${saving ? ' btn--busy' : ''}`}
          disabled={!dirty || !valid || saving || blocked.length > 0}
        >
          <Icon name="check" size={15} />
          Save
        </button>
      </div>
    </form>
  );
}

import { label } from '../../../../../../common/labels';
import { Icon } from '../../../../components/Icon';
import { useMediaName } from '../../../../hooks/use-media-name';
import { BOOT_DEVICES } from '../../../../lib/schemas';
import type { Boot } from '../draft';
import { Row, Section, TextInput, type SettingsForm } from '../form';

/** Boot order, the CD-ROM image and direct Linux kernel boot. */
export function BootSection({ form }: { form: SettingsForm }) {
  const { draft, set, err, locked } = form;
  const kernelLocked = locked('kernelBoot');
  return (
    <Section title="Boot">
      <BootOrder form={form} />
      <Row
        form={form}
        field="cdrom"
        label="CD-ROM image"
        hint={<CdromHint path={draft.cdrom.trim() || null} />}
      >
        <TextInput form={form} field="cdrom" mono placeholder="Empty (no disc)" />
      </Row>
      <div className={`field${kernelLocked ? ' field--locked' : ''}`}>
        <label className="check">
          <input
            type="checkbox"
            checked={draft.kernelOn}
            disabled={kernelLocked}
            onChange={(e) => set('kernelOn', e.target.checked)}
          />
          Boot a Linux kernel directly
        </label>
      </div>
      {draft.kernelOn ? (
        <>
          <Row form={form} field="kernelBoot.kernel" label="Kernel">
            <KernelInput
              id={`${form.id}-kernelBoot.kernel`}
              value={draft.kernel}
              disabled={kernelLocked}
              invalid={!!err('kernelBoot.kernel')}
              onChange={(v) => set('kernel', v)}
            />
          </Row>
          <Row form={form} field="kernelBoot.initrd" label="Initrd">
            <KernelInput
              id={`${form.id}-kernelBoot.initrd`}
              value={draft.initrd}
              disabled={kernelLocked}
              invalid={!!err('kernelBoot.initrd')}
              placeholder="(none)"
              onChange={(v) => set('initrd', v)}
            />
          </Row>
          <Row form={form} field="kernelBoot.append" label="Command line">
            <KernelInput
              id={`${form.id}-kernelBoot.append`}
              value={draft.append}
              disabled={kernelLocked}
              invalid={!!err('kernelBoot.append')}
              onChange={(v) => set('append', v)}
            />
          </Row>
        </>
      ) : null}
    </Section>
  );
}

/** The devices the firmware tries, in order: checked ones first, each movable up and down. */
function BootOrder({ form }: { form: SettingsForm }) {
  const { draft, set, err } = form;
  const off = form.locked('bootOrder');
  const toggle = (dev: Boot, on: boolean) =>
    set('bootOrder', on ? [...draft.bootOrder, dev] : draft.bootOrder.filter((b) => b !== dev));
  const move = (dev: Boot, dir: -1 | 1) => {
    const order = [...draft.bootOrder];
    const i = order.indexOf(dev);
    const j = i + dir;
    if (i < 0 || j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j] as Boot, order[i] as Boot];
    set('bootOrder', order);
  };
  return (
    <div
      className={`field${err('bootOrder') ? ' field--error' : ''}${off ? ' field--locked' : ''}`}
    >
      <span className="field__label">Boot order</span>
      <ol className="boot-order">
        {[...draft.bootOrder, ...BOOT_DEVICES.filter((b) => !draft.bootOrder.includes(b))].map(
          (dev) => {
            const on = draft.bootOrder.includes(dev);
            const i = draft.bootOrder.indexOf(dev);
            return (
              <li key={dev} className={on ? undefined : 'is-off'}>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={on}
                    disabled={off}
                    onChange={(e) => toggle(dev, e.target.checked)}
                  />
                  {label('boot', dev)}
                </label>
                <span className="boot-order__move">
                  <button
                    type="button"
                    className="icon-btn"
                    aria-label={`Move ${dev} up`}
                    disabled={!on || i === 0 || off}
                    onClick={() => move(dev, -1)}
                  >
                    <Icon name="chevronDown" size={14} className="icon--up" />
                  </button>
                  <button
                    type="button"
                    className="icon-btn"
                    aria-label={`Move ${dev} down`}
                    disabled={!on || i === draft.bootOrder.length - 1 || off}
                    onClick={() => move(dev, 1)}
                  >
                    <Icon name="chevronDown" size={14} />
                  </button>
                </span>
              </li>
            );
          },
        )}
      </ol>
      {err('bootOrder') ? <p className="field__error">{err('bootOrder')}</p> : null}
    </div>
  );
}

function KernelInput(props: {
  id: string;
  value: string;
  disabled: boolean;
  invalid: boolean;
  placeholder?: string;
  onChange: (v: string) => void;
}) {
  return (
    <input
      id={props.id}
      className="mono"
      value={props.value}
      disabled={props.disabled}
      placeholder={props.placeholder}
      spellCheck={false}
      aria-invalid={props.invalid || undefined}
      onChange={(e) => props.onChange(e.target.value)}
    />
  );
}

/** The image's own name (an upload's, with its OS) under the path, which may be a cache folder. */
function CdromHint({ path }: { path: string | null }) {
  const name = useMediaName(path);
  if (!path || !name) return <>The absolute path of an ISO; empty to eject.</>;
  return (
    <>
      <span data-testid="settings-cdrom-name">{name}</span>. The absolute path of an ISO; empty to
      eject.
    </>
  );
}

import { useId, useMemo, useState } from 'react';
import type { CreateVmRequest } from '../../../../common/contract';
import { createVm } from '../../actions/vm';
import { fieldErrors } from '../../../../common/validation';
import { CreateVmRequestSchema } from '../../lib/schemas';
import { useHostStore } from '../../stores/host';
import { Icon } from '../../components/Icon';
import { Modal } from '../../components/Modal';

type Source = 'iso' | 'kernel';

interface Draft {
  name: string;
  source: Source;
  iso: string;
  kernel: string;
  initrd: string;
  append: string;
  memoryMiB: string;
  cpus: string;
  diskSize: string;
}

const EMPTY: Draft = {
  name: '',
  source: 'iso',
  iso: '',
  kernel: '',
  initrd: '',
  append: 'console=ttyS0,115200',
  memoryMiB: '',
  cpus: '',
  diskSize: '20G',
};

function toRequest(d: Draft): { request: CreateVmRequest; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const int = (key: 'memoryMiB' | 'cpus'): number | undefined => {
    const raw = d[key].trim();
    if (raw === '') return undefined;
    if (!/^\d+$/.test(raw)) {
      errors[key] = 'Enter a whole number';
      return undefined;
    }
    return Number(raw);
  };
  const request: CreateVmRequest = { name: d.name };
  const memoryMiB = int('memoryMiB');
  const cpus = int('cpus');
  if (memoryMiB !== undefined) request.memoryMiB = memoryMiB;
  if (cpus !== undefined) request.cpus = cpus;
  if (d.diskSize.trim() !== '') request.diskSize = d.diskSize.trim();
  if (d.source === 'iso') {
    if (d.iso.trim() === '') errors['iso'] = 'Give the path of an installer or live ISO';
    else request.iso = d.iso.trim();
  } else {
    if (d.kernel.trim() === '') errors['kernel'] = 'Give the path of a Linux kernel (vmlinuz)';
    else request.kernel = d.kernel.trim();
    if (d.initrd.trim() !== '') request.initrd = d.initrd.trim();
    request.append = d.append;
  }
  return { request, errors };
}

/**
 * A plain "create from a path" form (an ISO or a Linux kernel, everything by hand): the wizard's
 * "manual" choice, for what its catalogue does not cover.
 */
export default function ManualVmDialog({ onClose }: { onClose: () => void }) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [submitted, setSubmitted] = useState(false);
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const host = useHostStore((s) => s.info);
  const id = useId();

  const { request, errors } = useMemo(() => {
    const { request, errors } = toRequest(draft);
    const parsed = CreateVmRequestSchema.safeParse(request);
    return {
      request,
      errors: { ...(parsed.success ? {} : fieldErrors(parsed.error.issues)), ...errors },
    };
  }, [draft]);
  const valid = Object.keys(errors).length === 0;

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    setServerErrors((e) => {
      if (!(key in e)) return e;
      const next = { ...e };
      delete next[key];
      return next;
    });
  };
  const errorFor = (key: string): string | undefined =>
    serverErrors[key] ?? (submitted || touched[key] ? errors[key] : undefined);

  const submit = async () => {
    setSubmitted(true);
    if (!valid) return;
    setBusy(true);
    setFormError(null);
    const res = await createVm(request);
    setBusy(false);
    if (res.ok) {
      onClose();
      return;
    }
    if (res.error.fields) setServerErrors(res.error.fields);
    setFormError(res.error.message);
  };

  const field = (
    key: keyof Draft,
    label: string,
    opts: { placeholder?: string; hint?: string; mono?: boolean; autoFocus?: boolean } = {},
  ) => {
    const err = errorFor(key);
    const inputId = `${id}-${key}`;
    return (
      <div className={`field${err ? ' field--error' : ''}`}>
        <label htmlFor={inputId}>{label}</label>
        <input
          id={inputId}
          name={key}
          value={draft[key]}
          placeholder={opts.placeholder}
          className={opts.mono ? 'mono' : undefined}
          autoFocus={opts.autoFocus}
          spellCheck={false}
          autoComplete="off"
          aria-invalid={err ? true : undefined}
          aria-describedby={err || opts.hint ? `${inputId}-msg` : undefined}
          onChange={(e) => set(key, e.target.value as never)}
          onBlur={() => setTouched((t) => ({ ...t, [key]: true }))}
        />
        {err ? (
          <p className="field__error" id={`${inputId}-msg`}>
            {err}
          </p>
        ) : opts.hint ? (
          <p className="field__hint" id={`${inputId}-msg`}>
            {opts.hint}
          </p>
        ) : null}
      </div>
    );
  };

  return (
    <Modal
      title="New virtual machine"
      onClose={onClose}
      wide
      footer={
        <>
          {formError ? (
            <p className="modal__error" role="alert">
              <Icon name="alert" size={15} />
              {formError}
            </p>
          ) : null}
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            form={`${id}-form`}
            className={`btn btn--primary${busy ? ' btn--busy' : ''}`}
            disabled={busy}
          >
            <Icon name="plus" size={15} />
            Create VM
          </button>
        </>
      }
    >
      <form
        id={`${id}-form`}
        className="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        {field('name', 'Name', { placeholder: 'My VM', autoFocus: true })}
        <fieldset className="segmented-field">
          <legend>Boot from</legend>
          <div className="segmented" role="radiogroup">
            {(
              [
                ['iso', 'Installer or live ISO'],
                ['kernel', 'Linux kernel'],
              ] as const
            ).map(([value, label]) => (
              <label key={value} className={draft.source === value ? 'is-on' : undefined}>
                <input
                  type="radio"
                  name="source"
                  value={value}
                  checked={draft.source === value}
                  onChange={() => {
                    set('source', value);
                    if (draft.diskSize === '20G' && value === 'kernel') set('diskSize', '0');
                    if (draft.diskSize === '0' && value === 'iso') set('diskSize', '20G');
                  }}
                />
                {label}
              </label>
            ))}
          </div>
        </fieldset>
        {draft.source === 'iso' ? (
          field('iso', 'ISO image', {
            placeholder: '/home/me/Downloads/debian-13-amd64-netinst.iso',
            hint: 'The full path of the file on the computer that runs Vivarium.',
            mono: true,
          })
        ) : (
          <>
            {field('kernel', 'Kernel', { placeholder: '/boot/vmlinuz', mono: true })}
            {field('initrd', 'Initrd (optional)', { placeholder: '/boot/initrd.img', mono: true })}
            {field('append', 'Kernel command line', { mono: true })}
          </>
        )}
        <div className="form__row">
          {field('memoryMiB', 'Memory (MiB)', {
            placeholder: 'automatic',
            hint: host ? `This computer has ${host.totalMemoryMiB} MiB` : undefined,
          })}
          {field('cpus', 'CPUs', {
            placeholder: 'automatic',
            hint: host ? `Up to ${host.cpus}` : undefined,
          })}
          {field('diskSize', 'New disk', {
            placeholder: '20G',
            hint: 'Grows as it fills; 0 for none',
          })}
        </div>
      </form>
    </Modal>
  );
}

import { useId, useMemo, useState, type ReactNode } from 'react';
import type { PortForward, VmConfig, VmPatch } from '../../../../../common/contract';
import { runVmOperation } from '../../../actions/vm';
import { openDialog } from '../../../actions/ui';
import { updateVm } from '../../../actions/vm';
import { accelLabel } from '../../../../../common/format';
import {
  BOOT_DEVICES,
  fieldErrors,
  FIRMWARES,
  MACHINE_TYPES,
  NIC_MODELS,
  SOUND_MODELS,
  VIDEO_MODELS,
  VmPatchSchema,
} from '../../../lib/schemas';
import { isLive } from '../../../lib/vm-state';
import { useHostStore } from '../../../stores/host';
import { Icon } from '../../../components/Icon';
import type { TabProps } from '../tab-props';

type Boot = (typeof BOOT_DEVICES)[number];

const SOUND_LABELS: Record<VmConfig['sound'], string> = {
  none: 'None',
  hda: 'Intel HD Audio',
  ac97: 'AC’97',
  sb16: 'Sound Blaster 16 (DOS)',
};

interface ForwardDraft {
  protocol: 'tcp' | 'udp';
  hostAddress: string;
  hostPort: string;
  guestPort: string;
}

/** The form's state: text where the user types, parsed into a patch on every change. */
interface Draft {
  name: string;
  notes: string;
  memoryMiB: string;
  cpuCount: string;
  cpuModel: string;
  machine: VmConfig['machine'];
  firmware: VmConfig['firmware'];
  cdrom: string;
  bootOrder: Boot[];
  networkMode: VmConfig['network']['mode'];
  nicModel: VmConfig['network']['model'];
  portForwards: ForwardDraft[];
  video: VmConfig['video'];
  sound: VmConfig['sound'];
  usbTablet: boolean;
  tpm: boolean;
  secureBoot: boolean;
  accel: VmConfig['accel'];
  kernelOn: boolean;
  kernel: string;
  initrd: string;
  append: string;
  extraArgs: string;
}

function draftOf(c: VmConfig): Draft {
  return {
    name: c.name,
    notes: c.notes,
    memoryMiB: String(c.memoryMiB),
    cpuCount: String(c.cpu.count),
    cpuModel: c.cpu.model,
    machine: c.machine,
    firmware: c.firmware,
    cdrom: c.cdrom ?? '',
    bootOrder: [...c.bootOrder],
    networkMode: c.network.mode,
    nicModel: c.network.model,
    portForwards: c.network.portForwards.map((f) => ({
      protocol: f.protocol,
      hostAddress: f.hostAddress,
      hostPort: String(f.hostPort),
      guestPort: String(f.guestPort),
    })),
    video: c.video,
    sound: c.sound,
    usbTablet: c.usbTablet,
    tpm: c.tpm,
    secureBoot: c.secureBoot,
    accel: c.accel,
    kernelOn: c.kernelBoot !== null,
    kernel: c.kernelBoot?.kernel ?? '',
    initrd: c.kernelBoot?.initrd ?? '',
    append: c.kernelBoot?.append ?? '',
    extraArgs: c.extraArgs.join('\n'),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Only what changed, plus errors for text that is not a number at all. */
function patchOf(d: Draft, c: VmConfig): { patch: VmPatch; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const patch: VmPatch = {};
  const int = (raw: string, key: string): number => {
    const t = raw.trim();
    if (!/^-?\d+$/.test(t)) {
      errors[key] = 'Enter a whole number';
      return NaN;
    }
    return Number(t);
  };
  if (d.name !== c.name) patch.name = d.name;
  if (d.notes !== c.notes) patch.notes = d.notes;
  const mem = int(d.memoryMiB, 'memoryMiB');
  if (mem !== c.memoryMiB && !errors['memoryMiB']) patch.memoryMiB = mem;
  const cpus = int(d.cpuCount, 'cpuCount');
  if (cpus !== c.cpu.count && !errors['cpuCount']) patch.cpuCount = cpus;
  if (d.cpuModel !== c.cpu.model) patch.cpuModel = d.cpuModel;
  if (d.machine !== c.machine) patch.machine = d.machine;
  if (d.firmware !== c.firmware) patch.firmware = d.firmware;
  const cdrom = d.cdrom.trim() === '' ? null : d.cdrom.trim();
  if (cdrom !== c.cdrom) patch.cdrom = cdrom;
  if (!same(d.bootOrder, c.bootOrder)) patch.bootOrder = d.bootOrder;
  if (d.networkMode !== c.network.mode) patch.networkMode = d.networkMode;
  if (d.nicModel !== c.network.model) patch.nicModel = d.nicModel;
  const forwards: PortForward[] = d.portForwards.map((f, i) => ({
    protocol: f.protocol,
    hostAddress: f.hostAddress.trim(),
    hostPort: int(f.hostPort, `portForwards.${i}.hostPort`),
    guestPort: int(f.guestPort, `portForwards.${i}.guestPort`),
  }));
  if (!same(forwards, c.network.portForwards)) patch.portForwards = forwards;
  if (d.video !== c.video) patch.video = d.video;
  if (d.sound !== c.sound) patch.sound = d.sound;
  if (d.usbTablet !== c.usbTablet) patch.usbTablet = d.usbTablet;
  if (d.tpm !== c.tpm) patch.tpm = d.tpm;
  if (d.secureBoot !== c.secureBoot) patch.secureBoot = d.secureBoot;
  if (d.accel !== c.accel) patch.accel = d.accel;
  const kernelBoot = d.kernelOn
    ? {
        kernel: d.kernel.trim(),
        ...(d.initrd.trim() ? { initrd: d.initrd.trim() } : {}),
        append: d.append,
      }
    : null;
  if (!same(kernelBoot, c.kernelBoot)) patch.kernelBoot = kernelBoot;
  const extra = d.extraArgs
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (!same(extra, c.extraArgs)) patch.extraArgs = extra;
  return { patch, errors };
}

/** Fields that can change while the VM runs; the engine refuses the rest (BAD_STATE). */
const LIVE_FIELDS = new Set(['name', 'notes']);

/** Edit the VM's configuration, validated by the contract's own schema as you type. */
export default function SettingsTab({ vm }: TabProps) {
  const config = vm.config;
  const live = isLive(vm.runtime.state);
  const stopped = vm.runtime.state === 'stopped' || vm.runtime.state === 'crashed';
  const lockedReason = stopped
    ? null
    : `“${vm.name}” is ${vm.runtime.state}: shut it down to change this.`;
  const host = useHostStore((s) => s.info);
  const [draft, setDraft] = useState<Draft>(() => draftOf(config));
  const [base, setBase] = useState<VmConfig>(config);
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const id = useId();

  const { patch, errors } = useMemo(() => {
    const { patch, errors } = patchOf(draft, base);
    const parsed = VmPatchSchema.safeParse(patch);
    const schemaErrors = parsed.success ? {} : fieldErrors(parsed.error.issues);
    if (patch.memoryMiB !== undefined && host && patch.memoryMiB > host.totalMemoryMiB) {
      schemaErrors['memoryMiB'] ??=
        `At most ${host.totalMemoryMiB} MiB (all of this computer’s memory)`;
    }
    if (patch.cpuCount !== undefined && host && patch.cpuCount > host.cpus) {
      schemaErrors['cpuCount'] ??= `This computer has ${host.cpus} CPUs`;
    }
    // The engine's rule (vm.update): Secure Boot only with UEFI on q35.
    if (draft.secureBoot && (draft.firmware !== 'uefi' || draft.machine !== 'q35')) {
      schemaErrors['secureBoot'] ??=
        'Secure Boot needs UEFI firmware on the Q35 machine: choose them, or turn Secure Boot off.';
    }
    return { patch, errors: { ...schemaErrors, ...errors } };
  }, [draft, base, host]);

  // The config changed elsewhere (CLI, another window) and nothing is being edited: follow it.
  const dirtyKeys = Object.keys(patch);
  const dirty = dirtyKeys.length > 0;
  if (config !== base && !dirty) {
    setBase(config);
    setDraft(draftOf(config));
  }
  const blockedNow = live ? dirtyKeys.filter((k) => !LIVE_FIELDS.has(k)) : [];
  const allErrors = { ...errors, ...serverErrors };
  const valid = Object.keys(errors).length === 0;

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    if (Object.keys(serverErrors).length) setServerErrors({});
  };

  const save = async () => {
    if (!dirty || !valid || blockedNow.length) return;
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

  const err = (key: string) => allErrors[key];
  const locked = (key: string) => !LIVE_FIELDS.has(key) && lockedReason !== null;

  const row = (key: string, label: string, control: ReactNode, hint?: ReactNode) => {
    const e = err(key);
    const off = locked(key);
    return (
      <div
        className={`field${e ? ' field--error' : ''}${off ? ' field--locked' : ''}`}
        title={off ? (lockedReason ?? undefined) : undefined}
      >
        <label htmlFor={`${id}-${key}`}>
          {label}
          {off ? <Icon name="lock" size={12} /> : null}
        </label>
        {control}
        {e ? (
          <p className="field__error" role="alert">
            {e}
          </p>
        ) : hint ? (
          <p className="field__hint">{hint}</p>
        ) : null}
      </div>
    );
  };

  const text = (
    key: keyof Draft,
    opts: { mono?: boolean; placeholder?: string; inputMode?: 'numeric' } = {},
  ) => (
    <input
      id={`${id}-${key}`}
      value={draft[key] as string}
      disabled={locked(key)}
      className={opts.mono ? 'mono' : undefined}
      placeholder={opts.placeholder}
      inputMode={opts.inputMode}
      spellCheck={false}
      autoComplete="off"
      aria-invalid={err(key) ? true : undefined}
      onChange={(e) => set(key, e.target.value as never)}
    />
  );

  const select = <K extends keyof Draft>(
    key: K,
    options: ReadonlyArray<readonly [string, string]>,
  ) => (
    <select
      id={`${id}-${key}`}
      value={draft[key] as string}
      disabled={locked(key)}
      onChange={(e) => set(key, e.target.value as never)}
    >
      {options.map(([v, l]) => (
        <option key={v} value={v}>
          {l}
        </option>
      ))}
    </select>
  );

  /** A checkbox field; `unavailable` (why it cannot be turned on) disables it while it is off. */
  const check = (
    key: 'tpm' | 'secureBoot',
    label: string,
    hint: string,
    unavailable: string | null,
  ) => {
    const e = err(key);
    const off = locked(key) || (unavailable !== null && !draft[key]);
    return (
      <div
        className={`field${e ? ' field--error' : ''}${off ? ' field--locked' : ''}`}
        title={locked(key) ? (lockedReason ?? undefined) : (unavailable ?? undefined)}
      >
        <label className="check">
          <input
            type="checkbox"
            checked={draft[key]}
            disabled={off}
            aria-invalid={e ? true : undefined}
            onChange={(ev) => set(key, ev.target.checked)}
          />
          {label}
        </label>
        {e ? (
          <p className="field__error" role="alert">
            {e}
          </p>
        ) : (
          <p className="field__hint">{unavailable ?? hint}</p>
        )}
      </div>
    );
  };
  // Why TPM or Secure Boot cannot be turned on here; null while the host is not known yet.
  const noSwtpm =
    host && !host.swtpm
      ? 'swtpm is not installed on this computer: install it (Debian/Ubuntu: sudo apt install swtpm swtpm-tools).'
      : null;
  const noSecureBoot =
    draft.firmware !== 'uefi' || draft.machine !== 'q35'
      ? 'Needs UEFI firmware on the Q35 machine: choose them above first.'
      : host && !(host.firmware.ovmfSecureBootCode && host.firmware.ovmfSecureBootVars)
        ? 'OVMF’s Secure Boot build is not installed on this computer: install it (Debian/Ubuntu: sudo apt install ovmf).'
        : null;

  const toggleBoot = (dev: Boot, on: boolean) =>
    set('bootOrder', on ? [...draft.bootOrder, dev] : draft.bootOrder.filter((b) => b !== dev));
  const moveBoot = (dev: Boot, dir: -1 | 1) => {
    const order = [...draft.bootOrder];
    const i = order.indexOf(dev);
    const j = i + dir;
    if (i < 0 || j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j] as Boot, order[i] as Boot];
    set('bootOrder', order);
  };
  const setForward = (i: number, f: Partial<ForwardDraft>) =>
    set(
      'portForwards',
      draft.portForwards.map((x, k) => (k === i ? { ...x, ...f } : x)),
    );

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
      {lockedReason ? (
        <div className="callout callout--info settings__lock">
          <Icon name="lock" size={16} />
          <span>
            {vm.name} is {vm.runtime.state}: only its name and notes can change now. Shut it down to
            change its hardware.
          </span>
          {live ? (
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
        <Section title="General">
          {row('name', 'Name', text('name'))}
          {row(
            'notes',
            'Notes',
            <textarea
              id={`${id}-notes`}
              value={draft.notes}
              rows={3}
              onChange={(e) => set('notes', e.target.value)}
              placeholder="What this VM is for, password hints, anything"
            />,
          )}
        </Section>

        <Section title="Processor and memory">
          <div className="form__row">
            {row(
              'memoryMiB',
              'Memory (MiB)',
              text('memoryMiB', { inputMode: 'numeric' }),
              host ? `This computer has ${host.totalMemoryMiB} MiB` : undefined,
            )}
            {row(
              'cpuCount',
              'CPUs',
              text('cpuCount', { inputMode: 'numeric' }),
              host ? `Up to ${host.cpus}` : undefined,
            )}
          </div>
          {row(
            'cpuModel',
            'CPU model',
            text('cpuModel', { mono: true }),
            '“max” offers the guest every feature QEMU can emulate.',
          )}
          {row(
            'accel',
            'Accelerator',
            select('accel', [
              [
                'auto',
                `Automatic${host ? ` (${accelLabel(host.bestAccelerator, true)} here)` : ''}`,
              ],
              ['kvm', 'KVM'],
              ['hvf', 'HVF (macOS)'],
              ['whpx', 'WHPX (Windows)'],
              ['tcg', 'TCG (emulated, slow)'],
            ]),
          )}
        </Section>

        <Section title="Machine and firmware">
          {row(
            'machine',
            'Machine type',
            select(
              'machine',
              MACHINE_TYPES.map(
                (m) => [m, m === 'q35' ? 'Q35 (modern, PCIe)' : 'i440FX (older PC)'] as const,
              ),
            ),
          )}
          {row(
            'firmware',
            'Firmware',
            select(
              'firmware',
              FIRMWARES.map((f) => [f, f === 'bios' ? 'BIOS (SeaBIOS)' : 'UEFI (OVMF)'] as const),
            ),
          )}
          {row(
            'video',
            'Video card',
            select(
              'video',
              VIDEO_MODELS.map((v) => [v, v === 'none' ? 'None (no display)' : v] as const),
            ),
          )}
          {row(
            'sound',
            'Sound card',
            select(
              'sound',
              SOUND_MODELS.map((m) => [m, SOUND_LABELS[m]] as const),
            ),
            'What the guest sees; there is no sound on this computer’s speakers yet.',
          )}
          <div
            className={`field${locked('usbTablet') ? ' field--locked' : ''}`}
            title={locked('usbTablet') ? (lockedReason ?? undefined) : undefined}
          >
            <label className="check">
              <input
                type="checkbox"
                checked={draft.usbTablet}
                disabled={locked('usbTablet')}
                onChange={(e) => set('usbTablet', e.target.checked)}
              />
              USB tablet (the pointer follows the mouse exactly)
            </label>
          </div>
        </Section>

        <Section title="Security">
          {check(
            'tpm',
            'TPM 2.0',
            'Emulated by swtpm; Windows 11 needs one. Turning it off keeps its keys (BitLocker) for when it comes back.',
            noSwtpm,
          )}
          {check(
            'secureBoot',
            'UEFI Secure Boot',
            'Only signed boot loaders start (Microsoft’s keys are enrolled). Turning it on or off resets the UEFI variables, boot entries included.',
            noSecureBoot,
          )}
        </Section>

        <Section title="Boot">
          <div
            className={`field${err('bootOrder') ? ' field--error' : ''}${locked('bootOrder') ? ' field--locked' : ''}`}
          >
            <span className="field__label">Boot order</span>
            <ol className="boot-order">
              {[
                ...draft.bootOrder,
                ...BOOT_DEVICES.filter((b) => !draft.bootOrder.includes(b)),
              ].map((dev) => {
                const on = draft.bootOrder.includes(dev);
                const i = draft.bootOrder.indexOf(dev);
                return (
                  <li key={dev} className={on ? undefined : 'is-off'}>
                    <label className="check">
                      <input
                        type="checkbox"
                        checked={on}
                        disabled={locked('bootOrder')}
                        onChange={(e) => toggleBoot(dev, e.target.checked)}
                      />
                      {dev === 'cdrom' ? 'CD-ROM' : dev === 'disk' ? 'Disk' : 'Network (PXE)'}
                    </label>
                    <span className="boot-order__move">
                      <button
                        type="button"
                        className="icon-btn"
                        aria-label={`Move ${dev} up`}
                        disabled={!on || i === 0 || locked('bootOrder')}
                        onClick={() => moveBoot(dev, -1)}
                      >
                        <Icon name="chevronDown" size={14} className="icon--up" />
                      </button>
                      <button
                        type="button"
                        className="icon-btn"
                        aria-label={`Move ${dev} down`}
                        disabled={!on || i === draft.bootOrder.length - 1 || locked('bootOrder')}
                        onClick={() => moveBoot(dev, 1)}
                      >
                        <Icon name="chevronDown" size={14} />
                      </button>
                    </span>
                  </li>
                );
              })}
            </ol>
            {err('bootOrder') ? <p className="field__error">{err('bootOrder')}</p> : null}
          </div>
          {row(
            'cdrom',
            'CD-ROM image',
            text('cdrom', { mono: true, placeholder: 'Empty (no disc)' }),
            'The absolute path of an ISO; empty to eject.',
          )}
          <div className={`field${locked('kernelBoot') ? ' field--locked' : ''}`}>
            <label className="check">
              <input
                type="checkbox"
                checked={draft.kernelOn}
                disabled={locked('kernelBoot')}
                onChange={(e) => set('kernelOn', e.target.checked)}
              />
              Boot a Linux kernel directly
            </label>
          </div>
          {draft.kernelOn ? (
            <>
              {row(
                'kernelBoot.kernel',
                'Kernel',
                <KernelInput
                  id={`${id}-kernelBoot.kernel`}
                  value={draft.kernel}
                  disabled={locked('kernelBoot')}
                  invalid={!!err('kernelBoot.kernel')}
                  onChange={(v) => set('kernel', v)}
                />,
              )}
              {row(
                'kernelBoot.initrd',
                'Initrd',
                <KernelInput
                  id={`${id}-kernelBoot.initrd`}
                  value={draft.initrd}
                  disabled={locked('kernelBoot')}
                  invalid={!!err('kernelBoot.initrd')}
                  placeholder="(none)"
                  onChange={(v) => set('initrd', v)}
                />,
              )}
              {row(
                'kernelBoot.append',
                'Command line',
                <KernelInput
                  id={`${id}-kernelBoot.append`}
                  value={draft.append}
                  disabled={locked('kernelBoot')}
                  invalid={!!err('kernelBoot.append')}
                  onChange={(v) => set('append', v)}
                />,
              )}
            </>
          ) : null}
        </Section>

        <Section title="Network">
          <div className="form__row">
            {row(
              'networkMode',
              'Network',
              select('networkMode', [
                ['user', 'User-mode NAT'],
                ['none', 'None'],
              ] as const),
            )}
            {row(
              'nicModel',
              'Network card',
              select(
                'nicModel',
                NIC_MODELS.map((m) => [m, m] as const),
              ),
            )}
          </div>
          <div className={`field${locked('portForwards') ? ' field--locked' : ''}`}>
            <span className="field__label">Port forwards</span>
            {draft.portForwards.length === 0 ? (
              <p className="field__hint">None: the guest reaches out, nothing reaches in.</p>
            ) : null}
            {draft.portForwards.map((f, i) => (
              <div className="forward" key={i}>
                <select
                  value={f.protocol}
                  disabled={locked('portForwards')}
                  aria-label="Protocol"
                  onChange={(e) => setForward(i, { protocol: e.target.value as 'tcp' | 'udp' })}
                >
                  <option value="tcp">TCP</option>
                  <option value="udp">UDP</option>
                </select>
                <input
                  className="mono"
                  aria-label="Host address"
                  value={f.hostAddress}
                  disabled={locked('portForwards')}
                  aria-invalid={err(`portForwards.${i}.hostAddress`) ? true : undefined}
                  onChange={(e) => setForward(i, { hostAddress: e.target.value })}
                />
                <span className="forward__sep">:</span>
                <input
                  className="mono forward__port"
                  aria-label="Host port"
                  inputMode="numeric"
                  value={f.hostPort}
                  disabled={locked('portForwards')}
                  aria-invalid={err(`portForwards.${i}.hostPort`) ? true : undefined}
                  onChange={(e) => setForward(i, { hostPort: e.target.value })}
                />
                <span className="forward__sep">→ guest</span>
                <input
                  className="mono forward__port"
                  aria-label="Guest port"
                  inputMode="numeric"
                  value={f.guestPort}
                  disabled={locked('portForwards')}
                  aria-invalid={err(`portForwards.${i}.guestPort`) ? true : undefined}
                  onChange={(e) => setForward(i, { guestPort: e.target.value })}
                />
                <button
                  type="button"
                  className="icon-btn"
                  aria-label="Remove this forward"
                  disabled={locked('portForwards')}
                  onClick={() =>
                    set(
                      'portForwards',
                      draft.portForwards.filter((_, k) => k !== i),
                    )
                  }
                >
                  <Icon name="close" size={14} />
                </button>
                {['hostAddress', 'hostPort', 'guestPort'].map((k) =>
                  err(`portForwards.${i}.${k}`) ? (
                    <p className="field__error forward__error" key={k}>
                      {err(`portForwards.${i}.${k}`)}
                    </p>
                  ) : null,
                )}
              </div>
            ))}
            <button
              type="button"
              className="btn btn--compact btn--ghost"
              disabled={locked('portForwards') || draft.networkMode === 'none'}
              onClick={() =>
                set('portForwards', [
                  ...draft.portForwards,
                  { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: '2222', guestPort: '22' },
                ])
              }
            >
              <Icon name="plus" size={14} />
              Add a port forward
            </button>
          </div>
        </Section>

        <Section title="Advanced">
          {row(
            'extraArgs',
            'Extra QEMU arguments',
            <textarea
              id={`${id}-extraArgs`}
              className="mono"
              rows={3}
              value={draft.extraArgs}
              disabled={locked('extraArgs')}
              placeholder={'One argument per line, e.g.\n-device\nvirtio-rng-pci'}
              onChange={(e) => set('extraArgs', e.target.value)}
            />,
            'Added after everything Vivarium builds, one per line, never parsed.',
          )}
        </Section>

        <Section title="Danger zone" danger>
          <div className="danger-row">
            <div>
              <strong>Delete this VM</strong>
              <p className="field__hint">
                {stopped
                  ? 'Its settings, logs and (unless you keep them) its disks.'
                  : 'Shut it down first.'}
              </p>
            </div>
            <button
              type="button"
              className="btn btn--danger"
              disabled={!stopped}
              onClick={() => openDialog({ type: 'deleteVm', vmId: vm.id })}
            >
              <Icon name="trash" size={14} />
              Delete VM…
            </button>
          </div>
        </Section>
      </div>

      <div className={`savebar${dirty ? ' savebar--dirty' : ''}`}>
        <span className="savebar__msg">
          {!dirty
            ? 'No changes'
            : blockedNow.length
              ? `Shut the VM down to change ${blockedNow.join(', ')}.`
              : !valid
                ? 'Fix the fields marked in red.'
                : `${dirtyKeys.length} change${dirtyKeys.length === 1 ? '' : 's'} not saved`}
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
          disabled={!dirty || !valid || saving || blockedNow.length > 0}
        >
          <Icon name="check" size={15} />
          Save
        </button>
      </div>
    </form>
  );
}

function Section({
  title,
  children,
  danger = false,
}: {
  title: string;
  children: ReactNode;
  danger?: boolean;
}) {
  return (
    <fieldset className={`card settings__section${danger ? ' settings__section--danger' : ''}`}>
      <legend className="card__title">{title}</legend>
      {children}
    </fieldset>
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

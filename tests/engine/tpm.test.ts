import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostInfo, SoundModel, VmSummary } from '../../common/contract';
import type { Engine } from '../../electron/engine';
import { processAlive } from '../../electron/engine/qemu/process-info';
import { errorOf, guest, waitFor, waitForText } from '../helpers/fixtures';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';
import { finish } from '../helpers/guest-console';

let engine: Engine;

interface TpmInfo {
  id: string;
  model: string;
  options: { type: string };
}

let env: GuestEngine | undefined;

beforeAll(async () => {
  env = await openGuestEngine('viv-tpm-');
  ({ engine } = env);
});

afterAll(() => env?.close());

function create(name: string, secureBoot: boolean, tpm = true, diskSize = '0'): Promise<VmSummary> {
  return engine.call('vm.create', {
    name,
    iso: guest.iso,
    firmware: 'uefi',
    machine: 'q35',
    // GRUB under OVMF cannot place the fixture's full Debian kernel (63 MiB unpacked) in 256 MiB.
    memoryMiB: 384,
    cpus: 1,
    diskSize,
    tpm,
    secureBoot,
  });
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Whether the guest-visible contents of a qcow2 variable store are those of a raw template. */
function sameVars(template: string, qcow2: string): boolean {
  const r = spawnSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', template, qcow2], {
    encoding: 'utf8',
  });
  if (r.status !== 0 && r.status !== 1) throw new Error(`qemu-img compare: ${r.stderr}`);
  return r.status === 0;
}

function imageTags(file: string): string[] {
  const r = spawnSync('qemu-img', ['info', '--output=json', '-U', file], { encoding: 'utf8' });
  const info = JSON.parse(r.stdout) as { snapshots?: Array<{ name: string }> };
  return (info.snapshots ?? []).map((s) => s.name);
}

/** The running swtpm's pid, from its pid file (checked against /proc: it must really be swtpm). */
function swtpmPid(vm: VmSummary): number {
  const entry = engine.resolve(vm.id);
  const pid = Number(readFileSync(entry.files.tpmPidFile, 'utf8').trim());
  expect(pid).toBeGreaterThan(0);
  expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('swtpm');
  return pid;
}

async function expectTpm(vm: VmSummary): Promise<void> {
  const tpms = await engine.resolve(vm.id).supervisor.command<TpmInfo[]>('query-tpm');
  expect(tpms.map((t) => [t.id, t.options.type])).toEqual([['tpm0', 'emulator']]);
}

/** Starts a VM that has a TPM: it runs, its swtpm runs, and QEMU has the TPM. */
async function startWithTpm(vm: VmSummary): Promise<{ started: VmSummary; pid: number }> {
  const started = await engine.call('vm.start', { vm: vm.id });
  expect(started.runtime.state).toBe('running');
  const pid = swtpmPid(vm);
  await expectTpm(vm);
  return { started, pid };
}

/** vm.update of TPM, Secure Boot and sound together; the VM it returns has them as asked. */
async function updateTpmSecureBootSound(
  vm: VmSummary,
  patch: { tpm: boolean; secureBoot: boolean; sound: SoundModel },
): Promise<VmSummary> {
  const updated = await engine.call('vm.update', { vm: vm.id, patch });
  expect([updated.config.tpm, updated.config.secureBoot, updated.config.sound]).toEqual([
    patch.tpm,
    patch.secureBoot,
    patch.sound,
  ]);
  return updated;
}

async function powerOffAndCheckSwtpmGone(vm: VmSummary, pid: number): Promise<void> {
  const off = await engine.call('vm.powerOff', { vm: vm.id });
  expect(off.runtime.state).toBe('stopped');
  // --terminate: swtpm exits once QEMU has disconnected.
  await waitFor(() => !processAlive(pid), 'swtpm to exit', 10_000);
}

describe('TPM 2.0 (swtpm) and Secure Boot on real QEMU', () => {
  it('boots a UEFI guest with a TPM and ends swtpm with the VM', async () => {
    const host = await engine.call('host.info', {});
    expect(host.swtpm, 'swtpm must be installed (apt install swtpm)').toBeTruthy();
    const vm = await create('tpm test', false);
    expect(vm.config.tpm).toBe(true);
    const { pid } = await startWithTpm(vm);
    await waitForText(`${vm.dir}/logs/serial.log`, guest.banner, 40_000);
    await powerOffAndCheckSwtpmGone(vm, pid);
  }, 60_000);

  it('runs a Secure Boot VM (SMM, secure flash, Microsoft keys) with a TPM', async () => {
    const vm = await create('secure boot test', true);
    expect(vm.config.secureBoot).toBe(true);
    const { pid } = await startWithTpm(vm);
    const sup = engine.resolve(vm.id).supervisor;
    expect(await sup.command('qom-get', { path: '/machine', property: 'smm' })).toBe('on');
    // The firmware runs (the fixture's GRUB is unsigned, so Secure Boot may refuse it; the VM
    // stays up either way) and keeps running for a while.
    await new Promise((r) => setTimeout(r, 3000));
    const status = await sup.command<{ status: string }>('query-status');
    expect(status.status).toBe('running');
    const qemuLog = readFileSync(`${vm.dir}/logs/qemu.log`, 'utf8');
    expect(qemuLog).toContain('OVMF_CODE_4M.secboot.fd');
    expect(qemuLog).toContain('driver=cfi.pflash01,property=secure,value=on');
    await powerOffAndCheckSwtpmGone(vm, pid);
  }, 60_000);
});

describe('vm.update: TPM 2.0, Secure Boot and sound after creation', () => {
  let host: HostInfo;
  let vm: VmSummary;
  let nvram: string;
  let plainHash: string;

  beforeAll(async () => {
    host = await engine.call('host.info', {});
  });

  it('turns a plain UEFI VM into a TPM + Secure Boot one: new variable store, snapshots kept', async () => {
    expect(host.swtpm, 'swtpm must be installed (apt install swtpm)').toBeTruthy();
    const sbVars = host.firmware.ovmfSecureBootVars;
    const plainVars = host.firmware.ovmfVars;
    expect(sbVars, "OVMF's Secure Boot build must be installed (apt install ovmf)").toBeTruthy();
    expect(plainVars).toBeTruthy();

    vm = await create('plain uefi', false, false, '64M');
    expect([vm.config.tpm, vm.config.secureBoot, vm.config.sound]).toEqual([false, false, 'none']);
    nvram = engine.resolve(vm.id).files.nvram;
    plainHash = sha256(nvram);
    expect(sameVars(plainVars!, nvram)).toBe(true);
    // A disk-only snapshot covers the variable store too (UEFI VMs snapshot their fw-vars).
    const snap = await finish(
      engine,
      await engine.call('snapshot.create', { vm: vm.id, name: 'before secure boot' }),
      'snapshot.create',
    );
    expect(imageTags(nvram)).toEqual([snap.tag]);
    const withSnap = sha256(nvram);

    await updateTpmSecureBootSound(vm, { tpm: true, secureBoot: true, sound: 'hda' });
    // The saved config says so too (a fresh read, not the engine's memory).
    const onDisk = JSON.parse(readFileSync(`${vm.dir}/vm.json`, 'utf8')) as Record<string, unknown>;
    expect([onDisk['tpm'], onDisk['secureBoot'], onDisk['sound']]).toEqual([true, true, 'hda']);
    // The variable store is now the template with Microsoft's keys, and the snapshot is still in it.
    expect(sha256(nvram)).not.toBe(withSnap);
    expect(sha256(nvram)).not.toBe(plainHash);
    expect(sameVars(sbVars!, nvram)).toBe(true);
    expect(sameVars(plainVars!, nvram)).toBe(false);
    expect(imageTags(nvram)).toEqual([snap.tag]);
    const list = await engine.call('snapshot.list', { vm: vm.id });
    expect(list.snapshots.map((s) => [s.name, s.status])).toEqual([['before secure boot', 'ok']]);
    // Nothing half-made beside it.
    expect(readdirSync(vm.dir).filter((f) => f.includes('.new-'))).toEqual([]);
  }, 60_000);

  it('starts with the Secure Boot firmware, a TPM (query-tpm) and the sound card', async () => {
    const { started, pid } = await startWithTpm(vm);
    const sup = engine.resolve(vm.id).supervisor;
    expect(await sup.command('qom-get', { path: '/machine', property: 'smm' })).toBe('on');
    const argv = readFileSync(`/proc/${started.runtime.pid}/cmdline`, 'utf8').split('\0');
    expect(argv.join(' ')).toContain(host.firmware.ovmfSecureBootCode!);
    expect(argv.join(' ')).toContain(nvram);
    expect(argv.join(' ')).toContain('ich9-intel-hda');
    expect(readFileSync(`${vm.dir}/logs/qemu.log`, 'utf8')).toContain('OVMF_CODE_4M.secboot.fd');

    // While it runs: refused with what to do, and nothing changes.
    const before = sha256(nvram);
    const refused = await errorOf(
      engine.call('vm.update', { vm: vm.id, patch: { tpm: false, secureBoot: false } }),
    );
    expect(refused.code).toBe('BAD_STATE');
    expect(refused.message).toBe(
      'Shut the VM down to change tpm, secureBoot: they cannot change while it runs.',
    );
    const after = await engine.call('vm.get', { vm: vm.id });
    expect([after.config.tpm, after.config.secureBoot]).toEqual([true, true]);
    expect(sha256(nvram)).toBe(before);
    // Name and notes still can.
    await engine.call('vm.update', { vm: vm.id, patch: { notes: 'has a TPM now' } });
    await powerOffAndCheckSwtpmGone(vm, pid);
  }, 60_000);

  it('refuses Secure Boot without UEFI on q35, and switching firmware or machine under it', async () => {
    const bios = await engine.call('vm.create', {
      name: 'bios vm',
      kernel: guest.kernel,
      memoryMiB: 256,
      cpus: 1,
      diskSize: '0',
    });
    expect(bios.config.firmware).toBe('bios');
    const e1 = await errorOf(
      engine.call('vm.update', { vm: bios.id, patch: { secureBoot: true } }),
    );
    expect(e1.code).toBe('INVALID_REQUEST');
    expect(e1.message).toMatch(/^Secure Boot needs UEFI firmware on the q35 machine: choose them/);
    expect((await engine.call('vm.get', { vm: bios.id })).config.secureBoot).toBe(false);
    // Both at once is fine: UEFI, q35 and Secure Boot, with a variable store that has the keys.
    const both = await engine.call('vm.update', {
      vm: bios.id,
      patch: { firmware: 'uefi', secureBoot: true },
    });
    expect([both.config.firmware, both.config.secureBoot]).toEqual(['uefi', true]);
    expect(sameVars(host.firmware.ovmfSecureBootVars!, engine.resolve(bios.id).files.nvram)).toBe(
      true,
    );

    // The Secure Boot VM from above: BIOS or the pc machine would leave Secure Boot on without UEFI.
    const e2 = await errorOf(engine.call('vm.update', { vm: vm.id, patch: { firmware: 'bios' } }));
    expect(e2.code).toBe('INVALID_REQUEST');
    expect(e2.message).toBe(
      'Secure Boot is on, and it needs UEFI firmware on the q35 machine: turn Secure Boot off in the same change to switch to BIOS firmware.',
    );
    const e3 = await errorOf(engine.call('vm.update', { vm: vm.id, patch: { machine: 'pc' } }));
    expect(e3.message).toContain('to switch to the i440FX (pc) machine');
    const same = await engine.call('vm.get', { vm: vm.id });
    expect([same.config.firmware, same.config.machine, same.config.secureBoot]).toEqual([
      'uefi',
      'q35',
      true,
    ]);
  }, 60_000);

  it('turning them off: plain variables again, the TPM state kept, the VM boots without them', async () => {
    const tpmState = engine.resolve(vm.id).files.tpmStateDir;
    expect(readdirSync(tpmState).length).toBeGreaterThan(0);
    await updateTpmSecureBootSound(vm, { tpm: false, secureBoot: false, sound: 'none' });
    expect(sameVars(host.firmware.ovmfVars!, nvram)).toBe(true);
    expect(imageTags(nvram)).toHaveLength(1);
    // BitLocker keys may live in the TPM's state: it stays for when the TPM comes back.
    expect(existsSync(tpmState)).toBe(true);
    expect(readdirSync(tpmState).length).toBeGreaterThan(0);

    const started = await engine.call('vm.start', { vm: vm.id });
    expect(started.runtime.state).toBe('running');
    const tpms = await engine.resolve(vm.id).supervisor.command<TpmInfo[]>('query-tpm');
    expect(tpms).toEqual([]);
    const argv = readFileSync(`/proc/${started.runtime.pid}/cmdline`, 'utf8');
    expect(argv).toContain(host.firmware.ovmfCode!);
    expect(argv).not.toContain('secboot');
    expect((await engine.call('vm.powerOff', { vm: vm.id })).runtime.state).toBe('stopped');
  }, 60_000);
});

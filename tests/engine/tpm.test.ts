import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmSummary } from '../../preload/contract';
import { openEngine, type Engine } from '../../electron/engine';
import { processAlive } from '../../electron/engine/qemu/process-info';
import { guest, requireGuest, tempHome, waitFor, waitForText } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
let engine: Engine;

interface TpmInfo {
  id: string;
  model: string;
  options: { type: string };
}

beforeAll(async () => {
  requireGuest();
  home = await tempHome('viv-tpm-');
  engine = await openEngine({ home: home.dir, role: 'owner' });
});

afterAll(async () => {
  const list = await engine.call('vm.list', {}).catch(() => []);
  for (const vm of list) await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
  await engine.close();
  await home.remove();
});

function create(name: string, secureBoot: boolean): Promise<VmSummary> {
  return engine.call('vm.create', {
    name,
    iso: guest.iso,
    firmware: 'uefi',
    machine: 'q35',
    memoryMiB: 256,
    cpus: 1,
    diskSize: '0',
    tpm: true,
    secureBoot,
  });
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
    const started = await engine.call('vm.start', { vm: vm.id });
    expect(started.runtime.state).toBe('running');
    const pid = swtpmPid(vm);
    await expectTpm(vm);
    await waitForText(`${vm.dir}/logs/serial.log`, guest.banner, 40_000);
    await powerOffAndCheckSwtpmGone(vm, pid);
  }, 60_000);

  it('runs a Secure Boot VM (SMM, secure flash, Microsoft keys) with a TPM', async () => {
    const vm = await create('secure boot test', true);
    expect(vm.config.secureBoot).toBe(true);
    const started = await engine.call('vm.start', { vm: vm.id });
    expect(started.runtime.state).toBe('running');
    const pid = swtpmPid(vm);
    await expectTpm(vm);
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

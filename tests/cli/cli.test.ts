/**
 * The built CLI (`node out/main/cli.js`, from `npm run build`) as a user or a script drives it,
 * against real QEMU (TCG here) and the fixture guest from tests/fixtures/build-guest.sh.
 * One fresh VIVARIUM_HOME for the whole file; every VM is powered off in afterAll.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCELERATORS, ERROR_CODES } from '../../common/contract';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'out/main/cli.js');
const FIXTURES = join(ROOT, 'tests/fixtures/.cache');
const KERNEL = join(FIXTURES, 'vmlinuz');
const INITRD = join(FIXTURES, 'initrd.img');
const ISO = join(FIXTURES, 'guest.iso');
const READY = 'VIVARIUM-TEST-GUEST READY';
const WEIRD_NAME = `a,b "c" 'd', e/f`;
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

const qemuCheck = spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' });
const HAVE_QEMU = qemuCheck.status === 0;
if (!HAVE_QEMU) {
  console.warn('tests/engine/cli.test.ts skipped: qemu-system-x86_64 is not installed');
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

let home = '';
/** Pids of every QEMU a test saw, so afterAll can make sure none is left behind. */
const seenPids = new Set<number>();

function baseEnv(): NodeJS.ProcessEnv {
  return { ...process.env, VIVARIUM_HOME: home, NO_COLOR: '1' };
}

function run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? baseEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `vivarium ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {
      /* the CLI may exit before reading its input */
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Runs a command that must succeed and returns its stdout. */
async function ok(args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(args, opts);
  if (r.code !== 0) {
    throw new Error(
      `vivarium ${args.join(' ')} exited ${r.code ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
  }
  return r.stdout;
}

interface VmJson {
  id: string;
  name: string;
  state: string;
  pid: number | null;
  accel: string | null;
  cpus: number;
  memoryMiB: number;
  dir: string;
  config: {
    memoryMiB: number;
    firmware: string;
    machine: string;
    tpm: boolean;
    secureBoot: boolean;
    sound: string;
    confirmDestructive: boolean;
    cdrom: string | null;
    kernelBoot: { kernel: string; initrd?: string; append: string } | null;
  };
}

async function okJson<T = VmJson>(args: string[], opts: RunOptions = {}): Promise<T> {
  const out = await ok([...args, '--json'], opts);
  return JSON.parse(out) as T;
}

async function status(name: string): Promise<VmJson> {
  const vm = await okJson(['status', name]);
  if (vm.pid) seenPids.add(vm.pid);
  return vm;
}

async function names(): Promise<string[]> {
  return (await okJson<VmJson[]>(['list'])).map((v) => v.name).sort();
}

/** A failure as the CLI promises it: the exit code and exactly one `vivarium: ...` line. */
function expectFailure(r: RunResult, code = 1): string {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^vivarium: \S/);
  return lines[0]!.slice('vivarium: '.length);
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 120_000,
  intervalMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function countReady(text: string): number {
  return text.split(READY).length - 1;
}

async function serialLog(name: string): Promise<string> {
  return ok(['logs', name, '--serial']);
}

/** Waits until the guest printed READY at least `times` times since QEMU started. */
function waitReady(name: string, times = 1): Promise<string> {
  return waitFor(`${READY} (x${times}) on ${name}'s serial console`, async () => {
    const log = await serialLog(name);
    return countReady(log) >= times ? log : null;
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!HAVE_QEMU)('vivarium CLI (built, real QEMU)', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    if (!existsSync(CLI)) {
      throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    }
    const built = spawnSync('bash', [join(ROOT, 'tests/fixtures/build-guest.sh')], {
      encoding: 'utf8',
      timeout: 900_000,
    });
    if (built.status !== 0) {
      throw new Error(`tests/fixtures/build-guest.sh failed:\n${built.stdout}\n${built.stderr}`);
    }
    home = await mkdtemp(join(tmpdir(), 'vivarium-cli-'));
  }, 900_000);

  afterAll(async () => {
    if (!home) return;
    try {
      const vms = JSON.parse(
        (await run(['list', '--json'], { timeoutMs: 60_000 })).stdout,
      ) as VmJson[];
      for (const vm of vms) {
        if (vm.pid) seenPids.add(vm.pid);
        if (vm.state !== 'stopped') await run(['stop', vm.id, '--force'], { timeoutMs: 60_000 });
      }
    } catch (err) {
      console.warn(`cli.test cleanup: ${String(err)}`);
    }
    for (const pid of seenPids) {
      if (alive(pid)) {
        console.warn(`cli.test cleanup: QEMU ${pid} survived stop --force; killing it`);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await rm(home, { recursive: true, force: true });
  }, 180_000);

  it('prints its version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await ok(['--version'])).trim()).toBe(pkg.version);
  });

  it('host: reports QEMU and a usable accelerator', async () => {
    const info = await okJson<{
      qemu: { binaries: { arch: string; version: string }[] };
      qemuMissing: string | null;
      accelerators: { name: string; usable: boolean }[];
      bestAccelerator: string;
    }>(['host']);
    expect(info.qemuMissing).toBeNull();
    expect(info.qemu.binaries.some((b) => b.arch === 'x86_64')).toBe(true);
    expect(info.accelerators.some((a) => a.usable && a.name === info.bestAccelerator)).toBe(true);
    const human = await ok(['host']);
    expect(human).toMatch(/QEMU:\s+\d+\.\d+/);
    expect(human).toMatch(/tcg\s+usable/);
  });

  it('create --iso (a relative path is made absolute)', async () => {
    const rel = 'tests/fixtures/.cache/guest.iso';
    const vm = await okJson(['create', 'iso-vm', '--iso', rel, '--memory', '256', '--disk', '1G'], {
      cwd: ROOT,
    });
    expect(vm).toMatchObject({ name: 'iso-vm', state: 'stopped', pid: null, memoryMiB: 256 });
    expect(vm.id).toMatch(/^[a-f0-9]{12}$/);
    expect(vm.config.cdrom).toBe(ISO);
  });

  it('create --kernel/--initrd/--append', async () => {
    const human = await ok([
      'create',
      'kern',
      '--kernel',
      KERNEL,
      '--initrd',
      INITRD,
      '--append',
      'console=ttyS0 quiet',
      '--memory',
      '256',
    ]);
    expect(human).toContain('Created kern');
    const vm = await status('kern');
    expect(vm).toMatchObject({ name: 'kern', state: 'stopped', pid: null, memoryMiB: 256 });
    expect(vm.config.kernelBoot).toMatchObject({
      kernel: KERNEL,
      initrd: INITRD,
      append: 'console=ttyS0 quiet',
    });
  });

  /** A small diskless UEFI q35 VM on the fixture ISO (what TPM and Secure Boot need). */
  const UEFI_Q35_ISO = [
    '--iso',
    ISO,
    '--firmware',
    'uefi',
    '--machine',
    'q35',
    '--disk',
    '0',
    '--memory',
    '256',
  ];

  it('create --tpm/--secure-boot/--sound; --no-tpm/--no-secure-boot override an --os profile', async () => {
    const vm = await okJson([
      'create',
      'tpm-create',
      ...UEFI_Q35_ISO,
      '--tpm',
      '--secure-boot',
      '--sound',
      'hda',
    ]);
    expect(vm.config).toMatchObject({ tpm: true, secureBoot: true, sound: 'hda' });
    await ok(['delete', 'tpm-create']);

    const win = await okJson([
      'create',
      'win-plain',
      '--os',
      'windows-11',
      '--iso',
      ISO,
      '--disk',
      '0',
    ]);
    expect(win.config).toMatchObject({ firmware: 'uefi', tpm: true, secureBoot: true });
    await ok(['delete', 'win-plain']);
    const bare = await okJson([
      'create',
      'win-bare',
      '--os',
      'windows-11',
      '--iso',
      ISO,
      '--disk',
      '0',
      '--no-tpm',
      '--no-secure-boot',
    ]);
    expect(bare.config).toMatchObject({ firmware: 'uefi', tpm: false, secureBoot: false });
    await ok(['delete', 'win-bare']);
  });

  it('list: --json and an aligned table', async () => {
    const vms = await okJson<VmJson[]>(['list']);
    expect(vms.map((v) => v.name).sort()).toEqual(['iso-vm', 'kern']);
    for (const v of vms) {
      expect(v).toMatchObject({ state: 'stopped', pid: null });
      expect(v.id).toMatch(/^[a-f0-9]{12}$/);
    }
    const table = (await ok(['list'])).trimEnd().split('\n');
    expect(table[0]).toMatch(/^NAME\s+STATE\s+ARCH\s+CPUS\s+MEMORY\s+OS$/);
    expect(table).toHaveLength(3);
    const stateCol = table[0]!.indexOf('STATE');
    for (const row of table.slice(1)) expect(row.slice(stateCol)).toMatch(/^stopped\s+x86_64\s/);
  });

  describe('bad input: exit 1, one clear line, nothing lost', () => {
    let before: string[] = [];
    beforeAll(async () => {
      before = await names();
    });
    afterAll(async () => {
      expect(await names()).toEqual(before);
    });

    it('a missing ISO', async () => {
      const msg = expectFailure(await run(['create', 'x1', '--iso', '/nonexistent/missing.iso']));
      expect(msg).toContain('/nonexistent/missing.iso');
      expect(msg).toMatch(/not exist|not found|no such/i);
    });

    it('an ISO path that cannot be read as a file (a folder)', async () => {
      const msg = expectFailure(await run(['create', 'x2', '--iso', FIXTURES]));
      expect(msg).toContain(FIXTURES);
    });

    it.skipIf(IS_ROOT)(
      'an unreadable ISO (chmod 000; skipped as root: root reads any file)',
      async () => {
        const file = join(home, 'unreadable.iso');
        await writeFile(file, 'x');
        await chmod(file, 0o000);
        const msg = expectFailure(await run(['create', 'x3', '--iso', file]));
        expect(msg).toContain(file);
      },
    );

    it('--memory 0 gets the contract message', async () => {
      const msg = expectFailure(await run(['create', 'x4', '--iso', ISO, '--memory', '0']));
      expect(msg).toMatch(/at least 16 MiB/);
      expect(msg).toContain('--memory');
    });

    it('--memory above the host RAM', async () => {
      const msg = expectFailure(await run(['create', 'x5', '--iso', ISO, '--memory', '99999999']));
      expect(msg).toMatch(/memory/i);
    });

    it('a duplicate name', async () => {
      const msg = expectFailure(await run(['create', 'kern', '--iso', ISO]));
      expect(msg).toMatch(/already exists|taken/i);
      expect(msg).toContain('kern');
    });

    it('--json errors: the same message as JSON on stdout', async () => {
      const r = await run(['create', 'x6', '--iso', '/nonexistent/missing.iso', '--json']);
      const msg = expectFailure(r);
      const body = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      expect(ERROR_CODES).toContain(body.error.code);
      expect(body.error.message).toBe(msg);
    });

    it('usage errors exit 2', async () => {
      expectFailure(await run(['create', 'x7']), 2);
      expectFailure(await run(['create', 'x8', '--iso', ISO, '--memory', 'lots']), 2);
      expectFailure(await run(['frobnicate']), 2);
      expectFailure(await run(['status']), 2);
    });

    it('an unknown VM', async () => {
      const msg = expectFailure(await run(['status', 'no-such-vm']));
      expect(msg).toContain('no-such-vm');
    });

    it('QEMU missing: says how to install it', async () => {
      const env: NodeJS.ProcessEnv = { ...baseEnv(), PATH: '/nonexistent' };
      delete env.VIVARIUM_QEMU_DIR;
      const msg = expectFailure(await run(['start', 'iso-vm'], { env }));
      expect(msg).toContain('apt install qemu-system-x86');
      expect((await status('iso-vm')).state).toBe('stopped');
    });
  });

  describe('a VM booted from --kernel, through its life', () => {
    it('start → running with a pid', async () => {
      const started = await okJson(['start', 'kern']);
      expect(started.state).toBe('running');
      const vm = await status('kern');
      expect(vm.state).toBe('running');
      expect(vm.pid).toBeGreaterThan(0);
      expect(alive(vm.pid!)).toBe(true);
      expect(ACCELERATORS).toContain(vm.accel);
      expect(await ok(['status', 'kern'])).toMatch(/State:\s+running \(pid \d+/);
    });

    it('logs --serial: the guest reaches READY; logs: the QEMU log', async () => {
      const log = await waitReady('kern');
      expect(log).toContain(READY);
      const r = await run(['logs', 'kern']);
      expect(r.code, r.stderr).toBe(0);
      const asJson = await okJson<{ text: string; file: string; truncated: boolean }>([
        'logs',
        'kern',
        '--serial',
      ]);
      expect(asJson.text).toContain(READY);
      expect(asJson.file.startsWith('/')).toBe(true);
    });

    it('logs --follow prints what is appended until it is stopped', async () => {
      const child = spawn(process.execPath, [CLI, 'logs', 'kern', '--serial', '--follow'], {
        cwd: ROOT,
        env: baseEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      try {
        await waitFor('the existing log', () => out.includes(READY), 30_000, 200);
        // Append through the serial console; the follower must print the guest's answer.
        await run(['serial', 'kern'], { input: 'echo follow-$((40+2))\n', timeoutMs: 60_000 });
        await waitFor('appended output', () => out.includes('follow-42'), 30_000, 200);
      } finally {
        child.kill('SIGINT');
      }
      expect(await exited).toBe(0);
    });

    it('pause → paused, resume → running', async () => {
      expect((await okJson(['pause', 'kern'])).state).toBe('paused');
      expect((await status('kern')).state).toBe('paused');
      expect((await okJson(['resume', 'kern'])).state).toBe('running');
      expect((await status('kern')).state).toBe('running');
    });

    it('screenshot writes a PNG', async () => {
      const file = join(home, 'shot.png');
      const out = await ok(['screenshot', 'kern', file]);
      expect(out).toContain(file);
      const png = await readFile(file);
      expect(png.subarray(0, 8)).toEqual(
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      );
      expect(png.length).toBeGreaterThan(1024);
      // Relative paths are resolved against the CLI's working directory.
      await ok(['screenshot', 'kern', 'rel-shot.png'], { cwd: home });
      expect((await stat(join(home, 'rel-shot.png'))).size).toBeGreaterThan(1024);
    });

    it('serial: piped stdin reaches the guest shell (kept open, then killed)', async () => {
      const child: ChildProcess = spawn(process.execPath, [CLI, 'serial', 'kern'], {
        cwd: ROOT,
        env: baseEnv(),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      try {
        await waitFor(
          'hello-42 from the guest',
          () => {
            if (out.includes('hello-42')) return true;
            child.stdin!.write('echo hello-$((6*7))\n');
            return false;
          },
          60_000,
          2000,
        );
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
      expect(err).toMatch(/serial console/);
    });

    it('serial: with stdin ended, it detaches by itself after the answer', async () => {
      const r = await run(['serial', 'kern'], { input: 'echo bye-$((6*7))\n', timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('bye-42');
    });

    it('monitor: HMP commands answer', async () => {
      const r = await run(['monitor', 'kern'], { input: 'info status\n', timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/VM status: running/);
    });

    it('reset → running, and the guest boots again', async () => {
      const before = countReady(await serialLog('kern'));
      expect((await okJson(['reset', 'kern'])).state).toBe('running');
      await waitReady('kern', before + 1);
    });

    it('stop (ACPI) → stopped, QEMU gone', async () => {
      const { pid } = await status('kern');
      const vm = await okJson(['stop', 'kern', '--timeout', '90'], { timeoutMs: 150_000 });
      expect(vm.state).toBe('stopped');
      const after = await status('kern');
      expect(after).toMatchObject({ state: 'stopped', pid: null });
      await waitFor('QEMU to exit', () => !alive(pid!), 10_000, 200);
      // Stopping a stopped VM is not an error.
      expect((await okJson(['stop', 'kern'])).state).toBe('stopped');
    });

    it('delete removes it from list', async () => {
      await ok(['delete', 'kern']);
      expect(await names()).not.toContain('kern');
      expectFailure(await run(['status', 'kern']));
    });
  });

  it('stop: a guest that ignores the power button → exit 1 pointing at --force', async () => {
    // No initrd: the kernel panics (no root) and never answers the ACPI button.
    await ok([
      'create',
      'deaf',
      '--kernel',
      KERNEL,
      '--append',
      'console=ttyS0',
      '--memory',
      '128',
    ]);
    await ok(['start', 'deaf']);
    const { pid } = await status('deaf');
    const msg = expectFailure(await run(['stop', 'deaf', '--timeout', '3']));
    expect(msg).toContain('--force');
    expect((await status('deaf')).state).toBe('running');
    const vm = await okJson(['stop', 'deaf', '--force']);
    expect(vm.state).toBe('stopped');
    await waitFor('QEMU to exit', () => !alive(pid!), 10_000, 200);
    await ok(['delete', 'deaf']);
  });

  it('set --tpm/--secure-boot/--sound: a stopped VM changes; refused while it runs or without UEFI', async () => {
    const vm = await okJson(['create', 'sb-cli', ...UEFI_Q35_ISO, '--cpus', '1']);
    expect(vm.config).toMatchObject({ tpm: false, secureBoot: false, sound: 'none' });
    const nvram = join(vm.dir, 'uefi-vars.qcow2');
    const hash = async () =>
      createHash('sha256')
        .update(await readFile(nvram))
        .digest('hex');
    const plain = await hash();

    const on = await okJson(['set', 'sb-cli', '--tpm', '--secure-boot', '--sound', 'hda']);
    expect(on.config).toMatchObject({ tpm: true, secureBoot: true, sound: 'hda' });
    // Secure Boot brings a new UEFI variable store (Microsoft's keys enrolled).
    expect(await hash()).not.toBe(plain);
    expect(await ok(['status', 'sb-cli'])).toContain(
      'Machine: 1 CPU, 256 MiB, Q35 (modern, PCIe) (q35), UEFI (OVMF) (uefi), Secure Boot, TPM 2.0, Standard VGA (std), Intel HD Audio (hda), OS generic',
    );
    expect((await ok(['set', 'sb-cli', '--no-tpm', '--sound', 'ac97'])).trim()).toBe(
      'Updated sb-cli: 1 CPU, 256 MiB, Q35 (modern, PCIe) (q35), UEFI (OVMF) (uefi), Secure Boot, Standard VGA (std), AC’97 (ac97).',
    );
    // The app's "ask before Power off" switch; the CLI itself never asks.
    expect((await okJson(['set', 'sb-cli', '--no-ask-first'])).config.confirmDestructive).toBe(
      false,
    );
    expect((await okJson(['set', 'sb-cli', '--ask-first'])).config.confirmDestructive).toBe(true);

    // Bad input: exit 2 for usage, exit 1 with the engine's words (and the flag) otherwise.
    expect(expectFailure(await run(['set', 'sb-cli']), 2)).toMatch(/^Nothing to change: give/);
    expectFailure(await run(['set', 'sb-cli', '--sound', 'beeper']), 2);
    const small = expectFailure(await run(['set', 'sb-cli', '--memory', '8']));
    expect(small).toMatch(/at least 16 MiB/);
    expect(small).toContain('(--memory 8)');
    expect(expectFailure(await run(['set', 'sb-cli', '--firmware', 'bios']))).toBe(
      'Secure Boot is on, and it needs UEFI firmware on the q35 machine: turn Secure Boot off in the same change to switch to BIOS firmware.',
    );

    // While it runs: refused, saying what to do; nothing changes.
    const started = await okJson(['start', 'sb-cli']);
    expect(started.state).toBe('running');
    if (started.pid) seenPids.add(started.pid);
    const r = await run(['set', 'sb-cli', '--tpm', '--json']);
    expect(expectFailure(r)).toBe(
      'Shut the VM down to change tpm: they cannot change while it runs.',
    );
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('BAD_STATE');
    expect((await status('sb-cli')).config.tpm).toBe(false);
    expect((await okJson(['stop', 'sb-cli', '--force'])).state).toBe('stopped');

    // Off again: Secure Boot off and BIOS in one change is fine; plain variables come back.
    const bios = await okJson(['set', 'sb-cli', '--no-secure-boot', '--firmware', 'bios']);
    expect(bios.config).toMatchObject({ firmware: 'bios', secureBoot: false, tpm: false });
    const uefi = await okJson(['set', 'sb-cli', '--firmware', 'uefi']);
    expect(uefi.config).toMatchObject({ firmware: 'uefi', secureBoot: false });
    const { ovmfVars } = (await okJson<{ firmware: { ovmfVars: string } }>(['host'])).firmware;
    const cmp = spawnSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', ovmfVars, nvram]);
    expect(cmp.status, 'the plain UEFI variables are back').toBe(0);
    await ok(['delete', 'sb-cli']);

    await ok(['create', 'bios-cli', '--kernel', KERNEL, '--memory', '256']);
    expect(expectFailure(await run(['set', 'bios-cli', '--secure-boot']))).toMatch(
      /^Secure Boot needs UEFI firmware on the q35 machine: choose them too/,
    );
    expect((await status('bios-cli')).config.secureBoot).toBe(false);
    await ok(['delete', 'bios-cli']);
  });

  it(`a name full of commas and quotes works: ${WEIRD_NAME}`, async () => {
    const created = await okJson([
      'create',
      WEIRD_NAME,
      '--kernel',
      KERNEL,
      '--initrd',
      INITRD,
      '--append',
      'console=ttyS0 quiet',
      '--memory',
      '256',
    ]);
    expect(created.name).toBe(WEIRD_NAME);
    expect(await names()).toContain(WEIRD_NAME);
    expect((await okJson(['start', WEIRD_NAME])).state).toBe('running');
    const vm = await status(WEIRD_NAME);
    expect(vm).toMatchObject({ name: WEIRD_NAME, state: 'running' });
    expect(vm.pid).toBeGreaterThan(0);
    await waitReady(WEIRD_NAME);
    expect((await okJson(['stop', WEIRD_NAME], { timeoutMs: 150_000 })).state).toBe('stopped');
    await ok(['delete', WEIRD_NAME]);
    expect(await names()).not.toContain(WEIRD_NAME);
  });

  it('the ISO VM boots; serve prints one URL, serves it and leaves the VM running on SIGINT', async () => {
    expect((await okJson(['start', 'iso-vm'])).state).toBe('running');
    await waitReady('iso-vm');
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
      cwd: ROOT,
      env: baseEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      await waitFor(`the URL line (stderr: ${err})`, () => out.includes('\n'), 30_000, 100);
      const url = out.trim();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{16,}$/);
      const res = await fetch(url);
      expect(res.status).toBeLessThan(500);
      // What carries data needs the token, which the URL's fragment never sends.
      const denied = await fetch(new URL('/upload?name=x.iso', url), { method: 'PUT', body: 'x' });
      expect(denied.status).toBe(401);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect((await status('iso-vm')).state).toBe('running');
    expect((await okJson(['stop', 'iso-vm', '--force'])).state).toBe('stopped');
  });

  it('delete the ISO VM; the list is empty again', async () => {
    await ok(['delete', 'iso-vm']);
    expect(await okJson<VmJson[]>(['list'])).toEqual([]);
    expect(await ok(['list'])).toMatch(/No VMs yet/);
  });
});

/**
 * What the VMs cost the host, through the built CLI (`npm run build`) on real QEMU with the
 * fixture guest: `top --once --json`, `balloon`, `cmdline`, `host --json` and `set --balloon`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli, type CliResult } from '../helpers/cli';
import { guest, requireGuest, tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
const env = (): NodeJS.ProcessEnv => ({ VIVARIUM_HOME: home.dir });

async function ok(args: string[]): Promise<CliResult> {
  const r = await runCli(args, env(), 120_000);
  if (r.code !== 0) throw new Error(`vivarium ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r;
}

interface TopLine {
  name: string;
  pid: number;
  cpuPercent: number | null;
  vcpuPercent: number[];
  rssMiB: number | null;
  guestAvailableMiB: number | null;
  balloonMiB: number | null;
  diskReadBytes: number;
  diskWriteBytes: number;
}

async function top(): Promise<TopLine[]> {
  const r = await ok(['top', '--once', '--json']);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TopLine);
}

beforeAll(async () => {
  requireBuiltCli();
  requireGuest();
  home = await tempHome('viv-cli-stats-');
  await ok([
    'create',
    'counted',
    '--kernel',
    guest.kernel,
    '--initrd',
    guest.initrd,
    '--append',
    guest.append,
    '--memory',
    '192',
    '--cpus',
    '1',
    '--disk',
    '0',
  ]);
  await ok(['start', 'counted']);
});

afterAll(async () => {
  await runCli(['stop', 'counted', '--force'], env()).catch(() => undefined);
  await home.remove();
});

describe('vivarium top, balloon, cmdline', () => {
  it('prints one JSON object per running VM with its costs', async () => {
    const [line, ...more] = await top();
    expect(more).toHaveLength(0);
    expect(line?.name).toBe('counted');
    const status = JSON.parse((await ok(['status', 'counted', '--json'])).stdout) as {
      pid: number;
    };
    expect(line?.pid).toBe(status.pid);
    expect(line?.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(line?.vcpuPercent).toHaveLength(1);
    expect(line?.rssMiB).toBeGreaterThan(10);
    expect(line?.balloonMiB).toBe(192);
    expect(typeof line?.diskReadBytes).toBe('number');
    expect(typeof line?.diskWriteBytes).toBe('number');
    expect(line && 'guestAvailableMiB' in line).toBe(true);
  });

  it('shows the table without --json', async () => {
    const r = await ok(['top', '--once']);
    expect(r.stdout).toMatch(/^Host: CPU/);
    expect(r.stdout).toMatch(/NAME\s+PID\s+CPU/);
    expect(r.stdout).toContain('counted');
  });

  it('sets the guest memory with balloon, and refuses more than it was given', async () => {
    const r = await ok(['balloon', 'counted', '128M', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ targetBytes: 128 * 1024 * 1024 });
    let balloon: number | null | undefined = null;
    for (let i = 0; i < 10 && balloon !== 128; i++) balloon = (await top())[0]?.balloonMiB;
    expect(balloon).toBe(128);

    const tooMuch = await runCli(['balloon', 'counted', '1G'], env());
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stderr).toMatch(/at most 192 MiB/);
  });

  it('prints the QEMU command line, quoted for a shell', async () => {
    const r = await ok(['cmdline', 'counted']);
    expect(r.stdout).toMatch(/^\S*qemu-system-x86_64 \\\n/);
    expect(r.stdout).toContain('\'{"driver":"virtio-balloon-pci"');
    expect(r.stderr).toMatch(/shut the VM down first/);
    const json = JSON.parse((await ok(['cmdline', 'counted', '--json'])).stdout) as {
      argv: string[];
    };
    expect(json.argv).toContain('-pidfile');
  });

  it('adds the memory and KSM figures to host --json, and turns the balloon off with set', async () => {
    const host = JSON.parse((await ok(['host', '--json'])).stdout) as {
      usage: { promisedBytes: number; runningVms: number; ksm: { available: boolean } };
    };
    expect(host.usage.runningVms).toBe(1);
    expect(host.usage.promisedBytes).toBe(192 * 1024 * 1024);
    expect(host.usage.ksm.available).toBe(true);

    await ok(['stop', 'counted', '--force']);
    await ok(['set', 'counted', '--no-balloon']);
    const off = await runCli(['balloon', 'counted', '64'], env());
    expect(off.stderr).toMatch(/no memory balloon: turn it on/);
  });
});

/**
 * Suspend to disk through the built CLI (`npm run build`), on real QEMU with the fixture guest:
 * `suspend` with its progress, `list` showing saved, refusals while saved, `start` resuming,
 * `discard-state`, `settings --on-quit`, and `serve` saving its running VMs on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, requireBuiltCli, runCli, type CliResult } from '../helpers/cli';
import { guest, requireGuest, tempHome, waitForText } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
const env = (): NodeJS.ProcessEnv => ({ VIVARIUM_HOME: home.dir });

async function ok(args: string[]): Promise<CliResult> {
  const r = await runCli(args, env(), 120_000);
  if (r.code !== 0) throw new Error(`vivarium ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r;
}

interface VmJson {
  id: string;
  name: string;
  state: string;
  savedAt: string | null;
  dir: string;
}

async function vmJson(name: string): Promise<VmJson> {
  return JSON.parse((await ok(['status', name, '--json'])).stdout) as VmJson;
}

beforeAll(async () => {
  requireBuiltCli();
  requireGuest();
  home = await tempHome('viv-cli-save-');
});

afterAll(async () => {
  const list = await runCli(['list', '--json'], env()).catch(() => null);
  for (const vm of list ? (JSON.parse(list.stdout) as VmJson[]) : []) {
    await runCli(['stop', vm.id, '--force'], env()).catch(() => undefined);
  }
  await home.remove();
});

describe('vivarium suspend / discard-state', () => {
  it('saves a running VM with progress, lists it as saved, resumes it, and discards a state', async () => {
    await ok([
      'create',
      'sleeper',
      '--kernel',
      guest.kernel,
      '--initrd',
      guest.initrd,
      '--append',
      guest.append,
      '--memory',
      '128',
      '--cpus',
      '1',
      '--disk',
      '16M',
      '--network',
      'none',
    ]);
    await ok(['start', 'sleeper']);
    const { dir } = await vmJson('sleeper');
    const serial = join(dir, 'logs', 'serial.log');
    await waitForText(serial, guest.banner);

    const saved = await ok(['suspend', 'sleeper', '--json']);
    const answer = JSON.parse(saved.stdout) as {
      state: string;
      savedAt: string;
      stateBytes: number;
    };
    expect(answer.state).toBe('saved');
    expect(answer.stateBytes).toBeGreaterThan(1024 * 1024);
    // --json progress: one task object per line on stderr, ending with the finished task.
    const events = saved.stderr
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { task: { kind: string; state: string } }).task);
    expect(events.every((t) => t.kind === 'vm.suspend')).toBe(true);
    expect(events[events.length - 1]?.state).toBe('succeeded');

    const listed = JSON.parse((await ok(['list', '--json'])).stdout) as VmJson[];
    expect(listed[0]).toMatchObject({ name: 'sleeper', state: 'saved', savedAt: answer.savedAt });
    expect((await ok(['list'])).stdout).toMatch(/sleeper\s+saved just now/);

    const set = await runCli(['set', 'sleeper', '--memory', '256'], env());
    expect(set.code).toBe(1);
    expect(set.stderr).toMatch(/saved to disk, so memoryMiB cannot change.*discard-state/);
    const stop = await ok(['stop', 'sleeper']);
    expect(stop.stdout).toContain('is saved to disk, not running');

    const resumed = await ok(['start', 'sleeper']);
    expect(resumed.stdout).toMatch(/sleeper resumed from its saved state: running/);
    await ok(['status', 'sleeper']);
    expect(readFileSync(serial, 'utf8')).not.toContain(guest.banner);
    expect(existsSync(join(dir, 'saved-state'))).toBe(false);

    await ok(['suspend', 'sleeper']);
    const discarded = await ok(['discard-state', 'sleeper']);
    expect(discarded.stdout).toContain('its next start boots it fresh');
    expect((await vmJson('sleeper')).state).toBe('stopped');
    const again = await ok(['discard-state', 'sleeper']);
    expect(again.stdout).toContain('had no saved state');
    const notRunning = await runCli(['suspend', 'sleeper'], env());
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toContain('only a running or paused VM can be saved');
  });

  it('a suspend killed half-way leaves the guest running, and the next one saves it', async () => {
    await ok(['start', 'sleeper']);
    const { dir } = await vmJson('sleeper');
    await waitForText(join(dir, 'logs', 'serial.log'), guest.banner);
    const child = spawn(process.execPath, [CLI, 'suspend', 'sleeper', '--json'], {
      cwd: ROOT,
      env: { ...process.env, ...env(), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
    // At its first progress line the save is under way: freeze it (it stops reading what QEMU
    // sends, so it cannot finish), then kill it.
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
        if (err.includes('"bytesDone":') && !err.includes('"bytesDone":null')) {
          child.kill('SIGSTOP');
          resolve();
        }
      });
      child.once('exit', () => reject(new Error(`suspend ended first: ${err}`)));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const after = await vmJson('sleeper');
    expect(after.state).toBe('running');
    expect(existsSync(join(dir, 'saved-state', 'state.json'))).toBe(false);
    // The killed process's claim and partial file are taken over by the next save.
    const saved = await ok(['suspend', 'sleeper', '--json']);
    expect((JSON.parse(saved.stdout) as VmJson).state).toBe('saved');
    expect(readdirSync(join(dir, 'saved-state')).sort()).toEqual(['state.json', 'state.vmstate']);
    const resumed = await ok(['start', 'sleeper']);
    expect(resumed.stdout).toContain('resumed from its saved state');
    await ok(['stop', 'sleeper', '--force']);
  });

  it('settings --on-quit, and serve saves its running VMs on SIGTERM', async () => {
    expect(JSON.parse((await ok(['settings', '--json'])).stdout)).toEqual({ onQuit: 'keep' });
    const set = await ok(['settings', '--on-quit', 'suspend']);
    expect(set.stdout).toContain('When Vivarium quits: Suspend them');
    expect(JSON.parse(readFileSync(join(home.dir, 'settings.json'), 'utf8'))).toEqual({
      onQuit: 'suspend',
    });
    const bad = await runCli(['settings', '--on-quit', 'sleep'], env());
    expect(bad.code).toBe(2);

    const serve = spawn(process.execPath, [CLI, 'serve', '--json'], {
      cwd: ROOT,
      env: { ...process.env, ...env(), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    serve.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => serve.on('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        serve.stdout.setEncoding('utf8').on('data', (d: string) => {
          if (d.includes('"url"')) resolve();
        });
        serve.once('exit', () => reject(new Error(`serve ended early: ${stderr}`)));
      });
      await ok(['start', 'sleeper']);
      const { dir } = await vmJson('sleeper');
      await waitForText(join(dir, 'logs', 'serial.log'), guest.banner);
      serve.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (serve.exitCode === null) serve.kill('SIGKILL');
    }
    expect(stderr).toContain('Saved sleeper to disk.');
    expect((await vmJson('sleeper')).state).toBe('saved');
    await ok(['discard-state', 'sleeper']);
  });
});

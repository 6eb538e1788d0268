/**
 * kill -9 at every step of each multi-step operation. Each operation runs as a CLI command (the
 * built `out/main/cli.js`) with VIVARIUM_CRASH_AT=<op>:<step>: the intent journal kills the
 * process with SIGKILL right after recording that step (library/intents.ts). Then an owner engine
 * opens the library (as the app or `vivarium serve` would) and every VM must still resolve its
 * launch plan with every disk present and `qemu-img check` clean, the source's data must be
 * intact (a marker written with qemu-io before, read back after), no VM folder may lack its
 * vm.json, no intent may be left, and the user must have been told what was finished or undone.
 * One guest boot at the end (the linked clones' source) shows a recovered VM really starts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../../electron/engine';
import { INTENT_STEPS, type IntentOp } from '../../electron/engine/library/intents';
import { requireBuiltCli, runCli } from '../helpers/cli';
import { guest, requireGuest, tempHome, waitForText } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
let env: NodeJS.ProcessEnv;
const vmsDir = (): string => join(home.dir, 'vms');

async function cli(args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await runCli(args, env, timeoutMs);
  if (r.code !== 0) throw new Error(`vivarium ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Runs the command, killed by the journal at `op:step`; it must not have ended on its own. */
async function crashAt(op: IntentOp, step: string, args: string[]): Promise<void> {
  const r = await runCli(args, { ...env, VIVARIUM_CRASH_AT: `${op}:${step}` });
  expect(r.code, `vivarium ${args.join(' ')} was to be killed at ${step}: ${r.stderr}`).toBeNull();
}

interface VmFacts {
  id: string;
  name: string;
  dir: string;
  disks: string[];
}

interface Reopened {
  vms: VmFacts[];
  notices: string[];
  /** VM folders without a vm.json. */
  loose: string[];
  /** Intent records left in the journal. */
  journal: string[];
}

/** Checked last in each trial, so a lost disk or a missing notice is reported first. */
function expectNoHalfState(r: Reopened): void {
  expect(r.loose, 'no VM folder without its vm.json').toEqual([]);
  expect(r.journal, 'no intent is left').toEqual([]);
}

/**
 * Opens the library as its owner (which recovers), checks everything that must hold after any
 * crash, and returns the VMs and the host notices.
 */
async function reopenAndCheck(): Promise<Reopened> {
  const engine = await openEngine({ home: home.dir, role: 'owner' });
  try {
    const notices = (await engine.call('host.info', {})).notices;
    const vms: VmFacts[] = [];
    for (const vm of await engine.call('vm.list', {})) {
      await engine.launchPlan(engine.resolve(vm.id));
      const disks = vm.config.disks.map((d) => join(vm.dir, d.file));
      for (const file of disks) {
        expect(existsSync(file), `${vm.name}: ${file} exists`).toBe(true);
        const check = spawnSync('qemu-img', ['check', '-q', '-f', 'qcow2', file], {
          encoding: 'utf8',
        });
        expect(check.status, `qemu-img check ${file}: ${check.stdout}${check.stderr}`).toBe(0);
      }
      vms.push({ id: vm.id, name: vm.name, dir: vm.dir, disks });
    }
    const loose = (await readdir(vmsDir())).filter(
      (name) => /^[a-f0-9]{12}$/.test(name) && !existsSync(join(vmsDir(), name, 'vm.json')),
    );
    const journal = await readdir(join(home.dir, 'journal')).catch(() => [] as string[]);
    return { vms, notices, loose, journal };
  } finally {
    await engine.close();
  }
}

function qemuIo(file: string, command: string, readOnly = false): string {
  const r = spawnSync(
    'qemu-io',
    [...(readOnly ? ['-r'] : []), '-f', 'qcow2', '-c', command, file],
    {
      encoding: 'utf8',
    },
  );
  expect(r.status, `qemu-io ${command} ${file}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The pattern `byte` is there at `offset` (64 KiB of it). */
function expectPattern(file: string, byte: number, offset: string): void {
  const out = qemuIo(file, `read -P ${byte} ${offset} 64k`, true);
  expect(out, `${file} holds pattern ${byte} at ${offset}`).not.toMatch(/verification failed/i);
  expect(out).toMatch(/read 65536\/65536 bytes/);
}

function find(vms: VmFacts[], name: string): VmFacts | undefined {
  return vms.find((v) => v.name === name);
}

function mustFind(vms: VmFacts[], name: string): VmFacts {
  const vm = find(vms, name);
  if (!vm) throw new Error(`VM ${name} is missing`);
  return vm;
}

function imageTags(file: string): string[] {
  const r = spawnSync('qemu-img', ['snapshot', '-l', '-U', file], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/\b(viv-[a-f0-9]+)\b/g)].map((m) => m[1] ?? '');
}

function stepsOf(op: IntentOp): readonly string[] {
  const steps = INTENT_STEPS[op];
  console.log(`${op}: kill -9 at each of ${steps.length} steps: ${steps.join(', ')}`);
  return steps;
}

beforeAll(async () => {
  requireBuiltCli();
  requireGuest();
  home = await tempHome('viv-kill9-');
  env = { VIVARIUM_HOME: home.dir };
  const common = ['--kernel', guest.kernel, '--initrd', guest.initrd, '--memory', '256'];
  await cli(['create', 'src', ...common, '--append', guest.append, '--cpus', '1', '--disk', '64M']);
  await cli(['create', 'dsk', ...common, '--cpus', '1', '--disk', '16M']);
  const { vms } = await reopenAndCheck();
  const [disk] = mustFind(vms, 'src').disks;
  if (!disk) throw new Error('src has no disk');
  qemuIo(disk, 'write -P 0x5a 0 64k');
});

afterAll(async () => {
  await runCli(['stop', 'src', '--force'], env).catch(() => undefined);
  await home.remove();
});

describe('kill -9 at every step', () => {
  it('vm.create: a VM is made whole or not at all', async () => {
    // A cloud image reaches every step (its seed included); a kernel create skips the seed.
    const image = join(home.dir, 'tiny-cloud.qcow2');
    spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '8M'], { stdio: 'inherit' });
    const trials = stepsOf('vm.create').flatMap((step) => [
      { step, name: `kc-${step}`, args: ['--cloud-image', image, '--disk', '16M'] },
      ...(step === 'seed'
        ? []
        : [{ step, name: `k-${step}`, args: ['--kernel', guest.kernel, '--disk', '8M'] }]),
    ]);
    for (const { step, name, args } of trials) {
      await crashAt('vm.create', step, ['create', name, ...args]);
      const after = await reopenAndCheck();
      const { vms, notices } = after;
      if (step === 'finish') {
        expect(find(vms, name), 'complete: it stays').toBeDefined();
      } else {
        expect(find(vms, name), `killed at ${step}: no VM`).toBeUndefined();
        expect(notices.join('\n')).toContain(
          `Creating "${name}" was interrupted (at step ${step})`,
        );
      }
      expectNoHalfState(after);
    }
  });

  it('vm.clone: the copy is whole or gone, the source untouched', async () => {
    for (const step of stepsOf('vm.clone')) {
      const name = `fc-${step}`;
      await crashAt('vm.clone', step, ['clone', 'src', name]);
      const after = await reopenAndCheck();
      const { vms, notices } = after;
      expectPattern(mustFind(vms, 'src').disks[0] ?? '', 0x5a, '0');
      if (step === 'finish') {
        expectPattern(mustFind(vms, name).disks[0] ?? '', 0x5a, '0');
      } else {
        expect(find(vms, name)).toBeUndefined();
        expect(notices.join('\n')).toContain(`as "${name}" was interrupted (at step ${step})`);
      }
      expectNoHalfState(after);
    }
  });

  it('vm.clone-linked: the source never loses its disk, whatever the step', async () => {
    let trial = 0;
    let serialLog = '';
    for (const step of stepsOf('vm.clone-linked')) {
      trial++;
      const name = `lc-${step}`;
      const before = await reopenAndCheck();
      const srcDisk = mustFind(before.vms, 'src').disks[0] ?? '';
      // Fresh data in the source's disk: something to lose, and a disk to freeze again.
      qemuIo(srcDisk, `write -P ${trial} 1M 64k`);
      await crashAt('vm.clone-linked', step, ['clone', 'src', name, '--linked']);
      const after = await reopenAndCheck();
      const { vms, notices } = after;
      const src = mustFind(vms, 'src');
      serialLog = join(src.dir, 'logs', 'serial.log');
      expectPattern(src.disks[0] ?? '', 0x5a, '0');
      expectPattern(src.disks[0] ?? '', trial, '1M');
      const clone = find(vms, name);
      if (step === 'finish') {
        expect(clone, 'finished: the clone stays').toBeDefined();
        expectPattern(clone?.disks[0] ?? '', trial, '1M');
      } else {
        expect(clone, `killed at ${step}: no clone`).toBeUndefined();
      }
      expect(notices.join('\n')).toMatch(new RegExp(`linked clone "${name}".*interrupted`));
      expectNoHalfState(after);
    }
    // The source still starts and boots (its disk back in place or on its base).
    await cli(['start', 'src']);
    await waitForText(serialLog, guest.banner);
    await cli(['stop', 'src', '--force']);
  });

  it('disk.add and disk.import: the new file is attached or removed', async () => {
    const raw = join(home.dir, 'import-me.raw');
    spawnSync('qemu-img', ['create', '-q', '-f', 'raw', raw, '4M']);
    for (const op of ['disk.add', 'disk.import'] as const) {
      for (const step of stepsOf(op)) {
        const before = mustFind((await reopenAndCheck()).vms, 'dsk').disks.length;
        const args =
          op === 'disk.add' ? ['disk', 'add', 'dsk', '4M'] : ['disk', 'import', 'dsk', raw];
        await crashAt(op, step, args);
        const after = await reopenAndCheck();
        const { vms, notices } = after;
        const dsk = mustFind(vms, 'dsk');
        expect(dsk.disks.length).toBe(step === 'finish' ? before + 1 : before);
        const images = (await readdir(dsk.dir)).filter((n) => n.endsWith('.qcow2'));
        expect(
          images.map((n) => join(dsk.dir, n)).sort(),
          'no disk file outside the config',
        ).toEqual([...dsk.disks].sort());
        if (step !== 'finish') expect(notices.join('\n')).toMatch(/disk .*was interrupted/i);
        expectNoHalfState(after);
      }
    }
  });

  it('disk.resize: the disk is whole at its old or new size, and the user is told', async () => {
    for (const step of stepsOf('disk.resize')) {
      await crashAt('disk.resize', step, ['disk', 'resize', 'dsk', '+1M']);
      const after = await reopenAndCheck();
      expect(after.notices.join('\n')).toMatch(/Resizing disk disk0 of "dsk" .* was interrupted/);
      expectNoHalfState(after);
    }
  });

  it('snapshot.create and snapshot.delete: the tree and the images agree', async () => {
    const agree = async (): Promise<string[]> => {
      const after = await reopenAndCheck();
      expectNoHalfState(after);
      const dsk = mustFind(after.vms, 'dsk');
      const engine = await openEngine({ home: home.dir, role: 'oneshot' });
      try {
        const list = await engine.call('snapshot.list', { vm: 'dsk' });
        const listed = list.snapshots.filter((s) => !s.external).map((s) => s.name);
        expect(list.snapshots.filter((s) => s.external || s.status !== 'ok')).toEqual([]);
        // Every tag in the images belongs to a listed snapshot, in every image.
        const tagSets = dsk.disks.map((file) => imageTags(file).sort());
        for (const tags of tagSets) expect(tags).toEqual(tagSets[0]);
        expect(tagSets[0]?.length ?? 0).toBe(listed.length);
        return listed;
      } finally {
        await engine.close();
      }
    };
    for (const step of stepsOf('snapshot.create')) {
      const name = `s-${step}`;
      await crashAt('snapshot.create', step, ['snapshot', 'create', 'dsk', name]);
      const listed = await agree();
      // Once the images hold it, it is finished under the name the user gave.
      expect(listed.includes(name)).toBe(step !== 'images');
    }
    for (const step of stepsOf('snapshot.delete')) {
      const name = `d-${step}`;
      await cli(['snapshot', 'create', 'dsk', name]);
      await crashAt('snapshot.delete', step, ['snapshot', 'delete', 'dsk', name]);
      expect(await agree(), 'deleted, as asked').not.toContain(name);
    }
  });

  it('moves a VM folder without vm.json aside and tells the user (host notices)', async () => {
    // What a create killed by an older Vivarium left: a folder with a disk and no config.
    const stray = join(vmsDir(), 'aaaaaaaaaaaa');
    await mkdir(stray);
    spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(stray, 'disk0.qcow2'), '1M']);
    await writeFile(join(stray, 'notes.txt'), 'keep me');
    const after = await reopenAndCheck();
    expectNoHalfState(after);
    expect(existsSync(stray)).toBe(false);
    const aside = await readdir(join(vmsDir(), '.orphans'));
    expect(aside).toHaveLength(1);
    expect(await readdir(join(vmsDir(), '.orphans', aside[0] ?? ''))).toEqual([
      'disk0.qcow2',
      'notes.txt',
    ]);
    expect(after.notices.join('\n')).toContain('without a vm.json');
    // `vivarium host` says so too, on every run until the user clears the folder.
    expect(await cli(['host'])).toMatch(/VM folder without a vm\.json .* moved aside/);
  });
});

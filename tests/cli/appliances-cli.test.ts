/**
 * `vivarium import FILE.ova` and `vivarium export NAME --ova FILE` on the built CLI: the dry run's
 * summary, JSON progress, a refused package leaving no VM, an export read back, and an import
 * killed in the middle undone by the next engine to open.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplianceSummary, TaskInfo, VmSummary } from '../../common/contract';
import { openEngine } from '../../electron/engine';
import { buildAppliance, guestDisks, ovaMembers, tarOf } from '../helpers/appliances';
import { CLI, ROOT, requireBuiltCli, runCli } from '../helpers/cli';
import { requireGuest, tempHome, waitFor } from '../helpers/fixtures';

let root: Awaited<ReturnType<typeof tempHome>>;
let home: string;
let work: string;
let ova: string;
let disks: Awaited<ReturnType<typeof guestDisks>>;

const run = (args: string[], timeoutMs = 120_000) =>
  runCli(args, { VIVARIUM_HOME: home, VIVARIUM_OSINFO_DIR: '' }, timeoutMs);

beforeAll(async () => {
  requireGuest();
  requireBuiltCli();
  root = await tempHome('viv-ovacli-');
  home = join(root.dir, 'home');
  work = join(root.dir, 'work');
  await mkdir(work, { recursive: true });
  disks = await guestDisks(work);
  ova = join(work, 'course.ova');
  await writeFile(ova, tarOf(ovaMembers(buildAppliance('virtualbox', disks, { name: 'Course' }))));
}, 60_000);

afterAll(async () => {
  await root.remove();
});

describe('vivarium import / export', () => {
  it('shows what an appliance maps to without importing it', async () => {
    const r = await run(['import', ova, '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Course: a VirtualBox appliance, Debian (Debian_64)');
    expect(r.stdout).toContain('1 CPU, 256 MiB, BIOS (SeaBIOS), machine q35');
    expect(r.stdout).toMatch(/disk 2: vbox-appliance-disk002\.vmdk, 64\.0 MiB on SATA/);
    expect(r.stdout).toContain('every file matched its SHA1 in the manifest');
    const json = await run(['import', ova, '--dry-run', '--json']);
    const summary = JSON.parse(json.stdout) as ApplianceSummary;
    expect(summary.nics.map((n) => n.model)).toEqual(['e1000', 'pcnet']);
    expect(readdirSync(join(home, 'vms')).filter((n) => !n.startsWith('.'))).toEqual([]);
  });

  it('imports with JSON progress, then exports to an OVA that reads back the same', async () => {
    const r = await run(['import', ova, '--name', 'course vm', '--json']);
    expect(r.code).toBe(0);
    const vm = JSON.parse(r.stdout) as VmSummary;
    expect(vm.name).toBe('course vm');
    expect(vm.config.disks).toHaveLength(2);
    const events = r.stderr
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { task: TaskInfo }).task);
    expect(events.every((t) => t.kind === 'appliance.import')).toBe(true);
    expect(events.some((t) => t.progress !== null && t.progress > 0 && t.progress < 1)).toBe(true);

    const plain = await run(['import', ova]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('Imported');
    expect(plain.stdout).toContain('as "Course"');

    const out = join(work, 'out.ova');
    const ex = await run(['export', 'course vm', '--ova', out]);
    expect(ex.stderr).toBe('');
    expect(ex.stdout).toMatch(/^Wrote .*out\.ova \([\d.]+ MiB, 2 disks\)/);
    const back = JSON.parse(
      (await run(['import', out, '--dry-run', '--json'])).stdout,
    ) as ApplianceSummary;
    expect(back).toMatchObject({
      cpus: 1,
      memoryMiB: 256,
      firmware: 'bios',
      verifiedWith: 'SHA256',
    });
    expect(back.disks.map((d) => d.capacityBytes)).toEqual([
      disks.bootCapacity,
      disks.blankCapacity,
    ]);
    expect(back.nics.map((n) => n.model)).toEqual(['e1000', 'pcnet']);
    const again = await run(['export', 'course vm', '--ova', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists: choose another name/);
  }, 120_000);

  it('refuses a tampered package with the reason and makes no VM', async () => {
    const a = buildAppliance('virtualbox', disks, { name: 'Tampered' });
    const mf = a.mf
      .toString()
      .replace(/(disk001\.vmdk\)= )(.)/, (_, p: string, c: string) => p + (c === 'a' ? 'b' : 'a'));
    const bad = join(work, 'tampered.ova');
    await writeFile(bad, tarOf(ovaMembers({ ...a, mf: Buffer.from(mf) })));
    const r = await run(['import', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^vivarium: vbox-appliance-disk001\.vmdk does not match its SHA1 in the manifest vbox-appliance\.mf/,
    );
    const list = JSON.parse((await run(['list', '--json'])).stdout) as VmSummary[];
    expect(list.map((v) => v.name).sort()).toEqual(['Course', 'course vm']);
    const usage = await run(['import', join(work, 'notes.txt')]);
    expect(usage.code).toBe(2);
  });

  it('an import killed in the middle is undone when the app next opens', async () => {
    // A disk of random bytes converts slowly enough to be caught in the act.
    const raw = join(work, 'random.raw');
    await writeFile(raw, randomBytes(96 * 2 ** 20));
    const big = join(work, 'random.vmdk');
    execFileSync('qemu-img', [
      'convert',
      '-f',
      'raw',
      '-O',
      'vmdk',
      '-o',
      'subformat=streamOptimized',
      raw,
      big,
    ]);
    const slow = { ...disks, blank: readFileSync(big), blankCapacity: 96 * 2 ** 20 };
    const file = join(work, 'slow.ova');
    await writeFile(file, tarOf(ovaMembers(buildAppliance('vmware', slow, { name: 'Killed' }))));

    const before = new Set(readdirSync(join(home, 'vms')));
    const child = spawn(process.execPath, [CLI, 'import', file], {
      cwd: ROOT,
      env: { ...process.env, VIVARIUM_HOME: home },
      stdio: 'ignore',
    });
    const dir = await waitFor(
      () => {
        const fresh = readdirSync(join(home, 'vms')).find(
          (n) => !before.has(n) && !n.startsWith('.'),
        );
        const d = fresh ? join(home, 'vms', fresh) : null;
        return d && existsSync(join(d, 'appliance.tmp')) ? d : null;
      },
      'the import to unpack',
      60_000,
    );
    // Its qemu-img children first (by pid), then the CLI itself.
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    child.kill('SIGKILL');
    for (const pid of kids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(join(home, 'journal')).length).toBe(1);

    const engine = await openEngine({ home, role: 'owner' });
    try {
      expect(existsSync(dir)).toBe(false);
      expect(readdirSync(join(home, 'journal'))).toEqual([]);
      const info = await engine.call('host.info', {});
      expect(info.notices.join('\n')).toMatch(
        /Importing "Killed" from slow\.ova was interrupted .* no VM "Killed" was made/,
      );
      expect((await engine.call('vm.list', {})).map((v) => v.name).sort()).toEqual([
        'Course',
        'course vm',
      ]);
    } finally {
      await engine.close();
    }
  }, 120_000);
});

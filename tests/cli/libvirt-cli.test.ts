/**
 * `vivarium export NAME --libvirt DIR` and `vivarium import --libvirt FILE.xml` through the built
 * CLI (no guest boots here; tests/engine/libvirt.test.ts boots them under libvirt): a linked
 * clone exported with its backing chain carried (each layer on the one below by a relative name)
 * and flattened, the note and what was not carried printed, the XML re-imported with its disks
 * referenced, and the refusals with their reasons and exit codes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli } from '../helpers/cli';

const HAVE_QEMU_IMG = spawnSync('qemu-img', ['--version']).status === 0;
if (!HAVE_QEMU_IMG) console.warn('libvirt-cli: skipped (qemu-img is not installed)');

let home = '';
let env: NodeJS.ProcessEnv = {};

function chain(file: string): Array<{ filename: string; 'backing-filename'?: string }> {
  const r = spawnSync('qemu-img', ['info', '--output=json', '--backing-chain', '-U', file], {
    encoding: 'utf8',
  });
  return JSON.parse(r.stdout) as Array<{ filename: string; 'backing-filename'?: string }>;
}

describe.skipIf(!HAVE_QEMU_IMG)('vivarium export/import --libvirt', () => {
  beforeAll(async () => {
    requireBuiltCli();
    home = await mkdtemp(join(tmpdir(), 'viv-libvirt-cli-'));
    env = { VIVARIUM_HOME: join(home, 'data') };
    const iso = join(import.meta.dirname, '..', 'fixtures', '.cache', 'guest.iso');
    const made = await runCli(
      ['create', 'base vm', '--iso', iso, '--disk', '32M', '--memory', '128'],
      env,
    );
    expect(made.code, made.stderr).toBe(0);
    const clone = await runCli(['clone', 'base vm', 'linked one', '--linked'], env);
    expect(clone.code, clone.stderr).toBe(0);
  });

  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('carries a linked clone’s backing chain by relative names, or flattens it', async () => {
    const carried = join(home, 'carried');
    const r = await runCli(['export', 'linked one', '--libvirt', carried, '--disks', 'carry'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `Exported linked one as the libvirt domain linked one: ${carried}/linked one.xml`,
    );
    expect(r.stdout).toContain(
      `virsh -c qemu+ssh://HOST/system define '${carried}/linked one.xml'`,
    );
    const layers = chain(join(carried, 'linked one-disk0.qcow2'));
    expect(layers.map((l) => l.filename)).toEqual([
      join(carried, 'linked one-disk0.qcow2'),
      join(carried, 'linked one-disk0.base1.qcow2'),
    ]);
    expect(layers[0]?.['backing-filename']).toBe('linked one-disk0.base1.qcow2');

    const flat = join(home, 'flat');
    const f = await runCli(['export', 'linked one', '--libvirt', flat, '--json'], env);
    expect(f.code, f.stderr).toBe(0);
    const res = JSON.parse(f.stdout) as { files: string[]; xmlFile: string; unmapped: string[] };
    expect(res.files).toEqual([join(flat, 'linked one-disk0.qcow2'), join(flat, 'linked one.xml')]);
    expect(chain(join(flat, 'linked one-disk0.qcow2'))).toHaveLength(1);
    const check = spawnSync('virt-xml-validate', [res.xmlFile, 'domain'], { encoding: 'utf8' });
    if (check.error === undefined) expect(check.status, check.stderr).toBe(0);
  });

  it('imports the exported XML with its disks referenced, listing what it could not map', async () => {
    const r = await runCli(
      [
        'import',
        '--libvirt',
        join(home, 'flat', 'linked one.xml'),
        '--reference',
        '--name',
        'back again',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Imported back again \(id [0-9a-f]{12}\)/);
    expect(r.stdout).toMatch(/Not carried over:\n {2}- The machine's version \(pc-q35-7\.2\)/);
    const show = await runCli(['disk', 'list', 'back again', '--json'], env);
    const disks = JSON.parse(show.stdout) as { disks: Array<{ file: string; format: string }> };
    expect(disks.disks.map((d) => [d.file, d.format])).toEqual([
      [join(home, 'flat', 'linked one-disk0.qcow2'), 'qcow2'],
    ]);
  });

  it('refuses with the reason: no folder, an export already there, XML that is not a domain', async () => {
    const none = await runCli(['export', 'base vm'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--libvirt DIR/);
    const again = await runCli(['export', 'linked one', '--libvirt', join(home, 'flat')], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists: choose another folder/);
    const notDomain = join(home, 'net.xml');
    await writeFile(notDomain, '<network><name>default</name></network>');
    const bad = await runCli(['import', '--libvirt', notDomain], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a libvirt domain \(its root element is <network>\)/);
    const hidden = join(home, 'hidden.xml');
    await writeFile(
      hidden,
      "<domain type='qemu'><name>lab\u200bvm</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os></domain>",
    );
    const invisible = await runCli(['import', '--libvirt', hidden], env);
    expect(invisible.code).toBe(1);
    expect(invisible.stderr).toMatch(
      /name "lab.vm" cannot be used \(The name cannot contain invisible/,
    );
    expect(invisible.stderr).toMatch(/import it with another name \(--name\)/);
    const both = await runCli(['import', '--libvirt', notDomain, '--copy', '--reference'], env);
    expect(both.code).toBe(2);
    expect(existsSync(join(home, 'data', 'vms'))).toBe(true);
    const list = await runCli(['list', '--json'], env);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(3);
  });
});

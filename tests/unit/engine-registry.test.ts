/**
 * The VM registry and the VM model (electron/engine/library/): unique names whatever their case,
 * one write and one event per change, broken configs reported, and a library watched by fs.watch
 * (a VM another process adds or edits is seen long before the slow safety poll).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CONFIG_VERSION,
  VmConfigSchema,
  type ApiEvent,
  type VmConfig,
} from '../../common/contract';
import { EventBus } from '../../electron/engine/events/event-bus';
import { SAFETY_POLL_MS } from '../../electron/engine/library/library-watch';
import { VmRegistry } from '../../electron/engine/library/registry';
import { enginePaths, type EnginePaths } from '../../electron/engine/paths';

let root: string;
let paths: EnginePaths;
const open: VmRegistry[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'viv-registry-'));
  paths = enginePaths(join(root, 'home'), join(root, 'run'));
  await mkdir(paths.vmsDir, { recursive: true });
  await mkdir(paths.runtimeDir, { recursive: true });
});

afterEach(async () => {
  for (const r of open.splice(0)) r.close();
  await rm(root, { recursive: true, force: true });
});

async function openRegistry(role: 'owner' | 'oneshot'): Promise<{
  registry: VmRegistry;
  events: ApiEvent[];
}> {
  const bus = new EventBus();
  const events: ApiEvent[] = [];
  bus.on((e) => events.push(e));
  const registry = new VmRegistry(paths, role, bus);
  open.push(registry);
  await registry.open();
  return { registry, events };
}

function config(id: string, name: string): VmConfig {
  return VmConfigSchema.parse({
    configVersion: CONFIG_VERSION,
    id,
    name,
    createdAt: new Date().toISOString(),
    memoryMiB: 256,
  });
}

async function addVm(registry: VmRegistry, name: string) {
  const { id, files } = registry.newVmFiles();
  await mkdir(files.logsDir, { recursive: true });
  return registry.add(config(id, name), files);
}

describe('VM registry', () => {
  it('keeps names unique whatever their case, and resolves by id or name', async () => {
    const { registry, events } = await openRegistry('oneshot');
    const alpha = await addVm(registry, 'Alpha');
    expect(events.filter((e) => e.type === 'vm.added')).toHaveLength(1);
    await expect(addVm(registry, 'alpha')).rejects.toMatchObject({
      code: 'NAME_TAKEN',
      fields: { name: 'This name is taken' },
    });
    expect(() => registry.assertNameFree('ALPHA')).toThrow(/already exists/);
    expect(() => registry.assertNameFree('ALPHA', alpha.id)).not.toThrow();
    expect(registry.resolve(alpha.id)).toBe(alpha);
    expect(registry.resolve(' alpha ')).toBe(alpha);
    expect(() => registry.resolve('beta')).toThrow(/There is no VM called "beta"/);
    // A rename through the model obeys the same rule.
    const beta = await addVm(registry, 'Beta');
    await expect(beta.update((c) => ({ ...c, name: 'ALPHA' }))).rejects.toMatchObject({
      code: 'NAME_TAKEN',
    });
  });

  it('persists a change once: one atomic write, one vm.state event', async () => {
    const { registry, events } = await openRegistry('oneshot');
    const vm = await addVm(registry, 'Gamma');
    events.length = 0;
    const summary = await vm.update((c) => ({ ...c, notes: 'hello', memoryMiB: 512 }));
    expect(summary.config.notes).toBe('hello');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'vm.state', vm: { id: vm.id } });
    const onDisk = JSON.parse(await readFile(vm.files.config, 'utf8')) as VmConfig;
    expect(onDisk).toMatchObject({ notes: 'hello', memoryMiB: 512 });
    // A failed commit step puts the previous config back and announces nothing.
    await expect(
      vm.update(
        (c) => ({ ...c, notes: 'lost' }),
        () => Promise.reject(new Error('no rename')),
      ),
    ).rejects.toThrow('no rename');
    expect(events).toHaveLength(1);
    expect(vm.config.notes).toBe('hello');
    const back = JSON.parse(await readFile(vm.files.config, 'utf8')) as VmConfig;
    expect(back.notes).toBe('hello');
  });

  it('applies a change to vm.json as it is on disk, not to a stale copy', async () => {
    // Two engines (an app and a CLI command, say), each with its own copy of the same VM.
    const { registry: first } = await openRegistry('oneshot');
    const vm = await addVm(first, 'Shared');
    const { registry: second } = await openRegistry('oneshot');
    const copy = second.resolve(vm.id);
    await vm.update((c) => ({ ...c, memoryMiB: 768 }));
    // The second engine has not seen that write; its change still keeps it.
    expect(copy.config.memoryMiB).toBe(256);
    const summary = await copy.update((c) => ({ ...c, cpu: { ...c.cpu, count: 2 } }));
    expect(summary.config).toMatchObject({ memoryMiB: 768, cpu: { count: 2 } });
    const onDisk = JSON.parse(await readFile(vm.files.config, 'utf8')) as VmConfig;
    expect(onDisk).toMatchObject({ memoryMiB: 768, cpu: { count: 2 } });

    // A name another engine took since this one looked is refused: names are checked on disk.
    await addVm(first, 'Newcomer');
    expect(second.has(vm.id)).toBe(true);
    await expect(copy.update((c) => ({ ...c, name: 'NEWCOMER' }))).rejects.toMatchObject({
      code: 'NAME_TAKEN',
    });
    await expect(addVm(second, 'newcomer')).rejects.toMatchObject({ code: 'NAME_TAKEN' });
  });

  it('reports a config it cannot load, and loads the others', async () => {
    const broken = join(paths.vmsDir, 'abcdefabcdef');
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, 'vm.json'), '{ not json');
    const good = join(paths.vmsDir, '0123456789ab');
    await mkdir(good, { recursive: true });
    await writeFile(join(good, 'vm.json'), JSON.stringify(config('0123456789ab', 'Fine')));
    const { registry } = await openRegistry('oneshot');
    expect(registry.list().map((vm) => vm.config.name)).toEqual(['Fine']);
    const reported = registry.brokenConfigs();
    expect(reported).toHaveLength(1);
    expect(reported[0]?.[0]).toBe(broken);
  });

  it('sees a VM another process adds, edits and deletes, well before the safety poll', async () => {
    const { registry: owner, events } = await openRegistry('owner');
    const { registry: cli } = await openRegistry('oneshot');
    // A deadline well under the safety poll: only fs.watch can meet it.
    const deadline = { timeout: SAFETY_POLL_MS / 2, interval: 50 };

    const added = await addVm(cli, 'From the CLI');
    await expect.poll(() => owner.has(added.id), deadline).toBe(true);
    expect(events.some((e) => e.type === 'vm.added' && e.vm.id === added.id)).toBe(true);

    await added.update((c) => ({ ...c, name: 'Renamed elsewhere' }));
    await expect
      .poll(() => owner.resolve(added.id).config.name, deadline)
      .toBe('Renamed elsewhere');

    await rm(added.files.dir, { recursive: true, force: true });
    await expect.poll(() => owner.has(added.id), deadline).toBe(false);
    expect(events.some((e) => e.type === 'vm.removed' && e.id === added.id)).toBe(true);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import * as contract from '../../common/contract';
import * as appliances from '../../common/contract/appliances';
import * as catalog from '../../common/contract/catalog';
import { composeMethods } from '../../common/contract/compose';
import * as disks from '../../common/contract/disks';
import * as errors from '../../common/contract/errors';
import * as host from '../../common/contract/host';
import * as libvirt from '../../common/contract/libvirt';
import * as media from '../../common/contract/media';
import * as migration from '../../common/contract/migration';
import * as networks from '../../common/contract/networks';
import * as removable from '../../common/contract/removable';
import * as settings from '../../common/contract/settings';
import * as shares from '../../common/contract/shares';
import * as snapshots from '../../common/contract/snapshots';
import * as stats from '../../common/contract/stats';
import * as streams from '../../common/contract/streams';
import * as tasks from '../../common/contract/tasks';
import * as vm from '../../common/contract/vm';
import * as vmConfig from '../../common/contract/vm-config';
import { IPC } from '../../common/transport/ipc';
import { RpcRequestSchema } from '../../common/transport/rpc';
import { VM_STATES } from '../../common/vm-state';

const domains: Record<string, Readonly<Record<string, z.ZodType>>> = {
  tasks: tasks.taskMethods,
  host: host.hostMethods,
  vm: vm.vmMethods,
  streams: streams.streamMethods,
  snapshots: snapshots.snapshotMethods,
  disks: disks.diskMethods,
  catalog: catalog.catalogMethods,
  media: media.mediaMethods,
  networks: networks.networkMethods,
  migration: migration.migrationMethods,
  settings: settings.settingsMethods,
  removable: removable.removableMethods,
  shares: shares.shareMethods,
  stats: stats.statsMethods,
  libvirt: libvirt.libvirtMethods,
  appliances: appliances.applianceMethods,
};

describe('the composed method table', () => {
  it('takes every method from exactly one domain, with that domain’s schema', () => {
    for (const [name, schema] of Object.entries(contract.methods)) {
      const owners = Object.entries(domains).filter(([, group]) => Object.hasOwn(group, name));
      expect(
        owners.map(([domain]) => domain),
        name,
      ).toHaveLength(1);
      expect(owners[0]![1][name], name).toBe(schema);
    }
  });

  it('holds every domain method and nothing else', () => {
    const declared = Object.values(domains).flatMap((group) => Object.keys(group));
    expect(new Set(declared).size).toBe(declared.length);
    expect(Object.keys(contract.methods).sort()).toEqual([...declared].sort());
  });

  it('refuses two domains that declare the same method', () => {
    const a = { 'x.one': z.object({}), 'x.two': z.object({}) };
    const b = { 'y.one': z.object({ id: z.string() }), 'x.two': z.object({}) };
    expect(() => composeMethods(a, b)).toThrow('Two contract domains declare the method x.two');
    const merged = composeMethods(a, { 'y.one': b['y.one'] });
    expect(Object.keys(merged)).toEqual(['x.one', 'x.two', 'y.one']);
    expect(merged['y.one']).toBe(b['y.one']);
  });

  it('types a result for every method, and a method for every result', () => {
    expectTypeOf<keyof contract.ApiResults>().toEqualTypeOf<contract.Method>();
    expectTypeOf<keyof tasks.TaskResults>().toEqualTypeOf<keyof typeof tasks.taskMethods>();
    expectTypeOf<keyof host.HostResults>().toEqualTypeOf<keyof typeof host.hostMethods>();
    expectTypeOf<keyof vm.VmResults>().toEqualTypeOf<keyof typeof vm.vmMethods>();
    expectTypeOf<keyof streams.StreamResults>().toEqualTypeOf<keyof typeof streams.streamMethods>();
    expectTypeOf<keyof snapshots.SnapshotResults>().toEqualTypeOf<
      keyof typeof snapshots.snapshotMethods
    >();
    expectTypeOf<keyof disks.DiskResults>().toEqualTypeOf<keyof typeof disks.diskMethods>();
    expectTypeOf<keyof catalog.CatalogResults>().toEqualTypeOf<
      keyof typeof catalog.catalogMethods
    >();
    expectTypeOf<keyof media.MediaResults>().toEqualTypeOf<keyof typeof media.mediaMethods>();
    expectTypeOf<keyof libvirt.LibvirtResults>().toEqualTypeOf<
      keyof typeof libvirt.libvirtMethods
    >();
    expectTypeOf<contract.Params<'vm.shutdown'>>().toEqualTypeOf<{
      vm: string;
      timeoutMs?: number | undefined;
    }>();
  });

  it('validates through the composed table as through the domain', () => {
    const parsed = contract.methods['vm.shutdown'].parse({ vm: 'debian' });
    expect(parsed).toEqual({ vm: 'debian', timeoutMs: 60_000 });
    expect(contract.methods['disk.add'].safeParse({ vm: 'debian' }).success).toBe(false);
  });
});

describe('isMethod', () => {
  it('knows the methods of every domain', () => {
    for (const name of ['task.list', 'host.info', 'vm.create', 'vm.openStream', 'vm.clone']) {
      expect(contract.isMethod(name), name).toBe(true);
    }
    for (const name of ['snapshot.revert', 'disk.check', 'catalog.check', 'media.download']) {
      expect(contract.isMethod(name), name).toBe(true);
    }
  });

  it('refuses unknown names, inherited properties and non-strings', () => {
    for (const name of ['vm.nope', 'vm', '', 'VM.LIST', 'toString', '__proto__', 'constructor']) {
      expect(contract.isMethod(name), name).toBe(false);
    }
    for (const value of [42, null, undefined, {}, ['vm.list']]) {
      expect(contract.isMethod(value)).toBe(false);
    }
  });
});

describe('the index', () => {
  it('re-exports every value of every domain and of the transport', async () => {
    const rpc = await import('../../common/transport/rpc');
    const ipc = await import('../../common/transport/ipc');
    const modules = {
      catalog,
      disks,
      errors,
      host,
      media,
      snapshots,
      streams,
      tasks,
      vm,
      vmConfig,
    };
    for (const [name, module] of Object.entries({ ...modules, rpc, ipc })) {
      for (const [key, value] of Object.entries(module)) {
        expect(contract[key as keyof typeof contract], `${name}.${key}`).toBe(value);
      }
    }
  });

  it('takes the VM states from common/vm-state', () => {
    expect(contract.VM_STATES).toBe(VM_STATES);
  });
});

describe('the transport', () => {
  it('keeps the IPC channel names the preload and the main process use', () => {
    expect(IPC).toEqual({ call: 'vivarium:call', event: 'vivarium:event' });
  });

  it('keeps the IPC module free of runtime imports (the sandboxed preload bundles it)', () => {
    const source = readFileSync(new URL('../../common/transport/ipc.ts', import.meta.url), 'utf8');
    const imports = source
      .split('\n')
      .filter((line) => /^\s*(import|export)\b.*\bfrom\b/.test(line));
    expect(imports.length).toBeGreaterThan(0);
    for (const line of imports) expect(line).toMatch(/^import type /);
  });

  it('accepts an RPC frame with an integer id and a method name', () => {
    const frame = { id: 7, method: 'vm.list', params: { any: 'thing' } };
    expect(RpcRequestSchema.parse(frame)).toEqual(frame);
  });

  it('rejects RPC frames whose id is not an integer or whose method is not a string', () => {
    const bad: unknown[] = [
      { id: '7', method: 'vm.list', params: {} },
      { id: 1.5, method: 'vm.list', params: {} },
      { id: null, method: 'vm.list', params: {} },
      { method: 'vm.list', params: {} },
      { id: 7, method: 42, params: {} },
      { id: 7, params: {} },
      'vm.list',
      null,
    ];
    for (const frame of bad) {
      expect(RpcRequestSchema.safeParse(frame).success, JSON.stringify(frame)).toBe(false);
    }
  });
});

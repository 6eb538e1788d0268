/**
 * The destination of a live migration: what a source engine asks this one over the RPC. It makes
 * the VM (same config, new empty disks of the same sizes), starts QEMU waiting for the incoming
 * state (`-incoming defer` with the migration's TLS-PSK credentials), exports the empty disks
 * writable over NBD (with the same credentials) for the source's mirrors, and listens for the
 * memory. When the source is done it stops NBD and lets the guest run; when the source gives up
 * (or stops renewing its lease: it died) the half-made VM is removed.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  VmConfigSchema,
  type ApiResults,
  type IncomingCheck,
  type IncomingPlan,
  type ParsedParams,
  type VmConfig,
  type VmSummary,
} from '../../../common/contract';
import { formatBytes } from '../../../common/format';
import { VivariumError } from '../errors';
import { freeBytesIn } from '../catalog/media/disk-space';
import type { HostService } from '../host/host-service';
import { requireQemuBinary, requireQemuImg } from '../host/require';
import { runProgram } from '../host/run';
import { pickFreePort } from '../guest/host-ports';
import { removeVmFolder } from '../library/orphans';
import { processAlive } from '../qemu/process-info';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { checkReadableFile } from '../vms/file-checks';
import type { LaunchPlanner } from '../vms/launch-plan';
import { createQcow2, createRaw } from '../storage/qemu-img';
import { pskCredsObject, writePskDir, type PskDir } from './psk';

/**
 * In the folder of a VM that is still coming in: a process killed meanwhile leaves it, and the
 * next owner to open the library removes that half-made VM (its disks are incomplete).
 */
export const INCOMING_MARKER = 'incoming-migration.json';

/** Room left free on the destination's disk besides the copied disks. */
const SPACE_MARGIN = 512 * 2 ** 20;

type CheckRequest = ParsedParams<'migration.incomingCheck'>;
type PrepareRequest = ParsedParams<'migration.prepareIncoming'>;

interface Incoming {
  vm: Vm;
  creds: PskDir;
  lease: NodeJS.Timeout;
  leaseMs: number;
}

export class IncomingMigrations {
  private readonly incoming = new Map<string, Incoming>();
  private machineTypes: Promise<Set<string>> | null = null;

  constructor(
    private readonly registry: VmRegistry,
    private readonly host: HostService,
    private readonly launcher: LaunchPlanner,
  ) {}

  async check(req: CheckRequest): Promise<IncomingCheck> {
    const reasons: string[] = [];
    const host = await this.host.get();
    const qemuVersion = host.qemu.binaries.find((b) => b.arch === 'x86_64')?.version ?? null;
    const parsed = VmConfigSchema.safeParse({ ...req.config, name: req.name });
    if (!parsed.success) {
      return {
        reasons: [
          "The destination cannot read this VM's settings (it runs another Vivarium version): update Vivarium on both computers.",
        ],
        suggestedName: null,
        freeBytes: null,
        qemuVersion,
      };
    }
    const config = parsed.data;
    let suggestedName: string | null = null;
    try {
      this.registry.assertNameFree(req.name);
    } catch {
      suggestedName = this.freeName(req.name);
      reasons.push(
        `A VM called "${req.name}" already exists on the destination: migrate it under another name (e.g. "${suggestedName}").`,
      );
    }
    if (host.qemuMissing) reasons.push(`The destination cannot run QEMU: ${host.qemuMissing}`);
    else {
      const types = await this.machineTypesOf(requireQemuBinary(host, config.arch));
      if (!types.has(req.machineType)) {
        reasons.push(
          `The destination's QEMU (${qemuVersion ?? 'unknown version'}) lacks the machine type ${req.machineType}: install the same QEMU version there as here.`,
        );
      }
    }
    if (config.firmware === 'uefi' && !host.firmware.ovmfCode) {
      reasons.push('The destination has no UEFI firmware (OVMF): install the ovmf package there.');
    }
    if (config.secureBoot && !host.firmware.ovmfSecureBootCode) {
      reasons.push(
        'The destination has no Secure Boot build of OVMF: install the ovmf package there.',
      );
    }
    for (const [file, what] of [
      [config.cdrom, 'The CD-ROM image'],
      [config.kernelBoot?.kernel, 'The kernel'],
      [config.kernelBoot?.initrd, 'The initrd'],
    ] as const) {
      if (!file) continue;
      try {
        await checkReadableFile(file, what);
      } catch {
        reasons.push(
          `${what} ${file} is not on the destination: put the same file at the same path there${what === 'The CD-ROM image' ? ', or eject the CD-ROM first' : ''}.`,
        );
      }
    }
    // What QEMU opens by path at start and that is not copied: it must be there already.
    for (const drive of config.usb) {
      if (drive.kind !== 'drive') continue;
      try {
        await checkReadableFile(drive.file, 'The USB drive image');
      } catch {
        reasons.push(
          `The USB drive image ${drive.file} is not on the destination: put the same file at the same path there, or detach the USB drive first.`,
        );
      }
    }
    for (const share of config.shares) {
      const isDir = await stat(share.path).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!isDir) {
        reasons.push(
          `The shared folder ${share.path} ("${share.tag}") is not on the destination: make the same folder at the same path there, or remove the share first.`,
        );
      }
    }
    const freeBytes = await freeBytesIn(this.registry.paths.vmsDir);
    const need = req.disks.reduce((sum, d) => sum + d.allocated, 0);
    if (freeBytes !== null && freeBytes < need + SPACE_MARGIN) {
      reasons.push(
        `The destination has ${formatBytes(freeBytes)} free; the disks need ${formatBytes(need)} (and ${formatBytes(SPACE_MARGIN)} to spare): free some space there.`,
      );
    }
    return { reasons, suggestedName, freeBytes, qemuVersion };
  }

  async prepare(req: PrepareRequest): Promise<IncomingPlan> {
    const verdict = await this.check(req);
    if (verdict.reasons.length) {
      throw new VivariumError(
        verdict.suggestedName ? 'NAME_TAKEN' : 'BAD_STATE',
        verdict.reasons.join(' '),
      );
    }
    const host = await this.host.get();
    const img = requireQemuImg(host);
    const source = VmConfigSchema.parse({ ...req.config, name: req.name });
    const { id, files } = this.registry.newVmFiles();
    const config: VmConfig = VmConfigSchema.parse({
      ...source,
      id,
      name: req.name,
      // Every disk becomes a file of its own in the VM's folder: the copy fills it whole, so a
      // source's backing file (a linked clone's base, a cloud image) is not needed here.
      disks: source.disks.map((d) => ({
        ...d,
        file: `${d.id}.${d.format === 'raw' ? 'img' : 'qcow2'}`,
      })),
      cloudInit: source.cloudInit
        ? { ...source.cloudInit, image: { ...source.cloudInit.image, mode: 'copy' } }
        : null,
    });
    let vm: Vm | null = null;
    let creds: PskDir | null = null;
    try {
      await mkdir(files.logsDir, { recursive: true, mode: 0o700 });
      await writeFile(
        join(files.dir, INCOMING_MARKER),
        `${JSON.stringify({ name: req.name, startedAt: new Date().toISOString(), pid: process.pid })}\n`,
      );
      for (const f of req.files) {
        const target = join(files.dir, f.path);
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        await writeFile(target, Buffer.from(f.base64, 'base64'), { mode: 0o600 });
      }
      for (const d of req.disks) {
        if (d.id === 'fw-vars') {
          await createQcow2(img, files.nvram, d.virtualSize);
          continue;
        }
        const disk = config.disks.find((c) => c.id === d.id);
        if (!disk) {
          throw new VivariumError('INVALID_REQUEST', `The VM has no disk ${d.id} to receive.`);
        }
        const file = join(files.dir, disk.file);
        if (disk.format === 'raw') await createRaw(img, file, d.virtualSize);
        else await createQcow2(img, file, d.virtualSize);
      }
      vm = await this.registry.add(config, files);
      creds = await writePskDir(files.run, req.psk);
      const plan = await this.launcher.plan(vm);
      await vm.supervisor.start({
        ...plan,
        paused: true,
        incoming: { kind: 'defer', objects: [JSON.stringify(pskCredsObject(creds, 'server'))] },
      });
      const sup = vm.supervisor;
      const nbdPort = await pickFreePort(
        req.host,
        20_000 + Math.floor(Math.random() * 20_000),
        new Set(),
      );
      await sup.command('nbd-server-start', {
        addr: { type: 'inet', data: { host: req.host, port: String(nbdPort) } },
        'tls-creds': creds.credsId,
      });
      const exports: Record<string, string> = {};
      for (const d of req.disks) {
        await sup.command('nbd-server-add', { device: d.id, name: d.id, writable: true });
        exports[d.id] = d.id;
      }
      await sup.command('migrate-set-capabilities', {
        capabilities: [{ capability: 'events', state: true }],
      });
      await sup.command('migrate-set-parameters', { 'tls-creds': creds.credsId });
      await sup.command('migrate-incoming', { uri: `tcp:${uriHost(req.host)}:0` });
      const info = await sup.command<{ 'socket-address'?: Array<{ port?: string }> }>(
        'query-migrate',
      );
      const migratePort = Number(info['socket-address']?.[0]?.port);
      if (!Number.isInteger(migratePort) || migratePort <= 0) {
        throw new VivariumError('QEMU_FAILED', 'QEMU did not say which port it listens on.');
      }
      const entry: Incoming = {
        vm,
        creds,
        leaseMs: req.leaseMs,
        lease: setTimeout(() => void this.abort(id), req.leaseMs),
      };
      entry.lease.unref();
      this.incoming.set(id, entry);
      return { vmId: id, host: req.host, migratePort, nbdPort, exports };
    } catch (err) {
      await this.dispose(vm, files.dir, creds);
      throw err;
    }
  }

  renew(vmId: string): ApiResults['migration.renewIncoming'] {
    const entry = this.require(vmId);
    entry.lease.refresh();
    return { ok: true };
  }

  async finish(vmId: string, resume: boolean): Promise<VmSummary> {
    const entry = this.require(vmId);
    entry.lease.refresh();
    const sup = entry.vm.supervisor;
    // The source saw its side complete; this side may still be loading the last device state.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { status } = await sup.command<{ status?: string }>('query-migrate');
      if (status === 'completed') break;
      if (status === 'failed' || status === 'cancelled' || Date.now() > deadline) {
        throw new VivariumError(
          'QEMU_FAILED',
          `The incoming migration ended ${status ?? 'without a status'} on the destination.`,
        );
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    clearTimeout(entry.lease);
    this.incoming.delete(vmId);
    // Complete now: a kill from here on must not get it swept as half received (an unlink,
    // cheap beside the pause).
    await rm(join(entry.vm.files.dir, INCOMING_MARKER), { force: true });
    // The guest is paused until this `cont`, so it goes first and alone: not the queued resume
    // (the RESUME event moves the VM to running as for any resume), and what can wait (the NBD
    // server, whose client the source already removed, and the key) goes after it.
    if (resume) await sup.command('cont');
    const summary = entry.vm.summary();
    void sup
      .command('nbd-server-stop')
      .catch(() => undefined)
      .then(() => entry.creds.remove())
      .catch(() => undefined);
    return summary;
  }

  async abort(vmId: string): Promise<ApiResults['migration.abortIncoming']> {
    const entry = this.incoming.get(vmId);
    if (!entry) return { removed: false };
    clearTimeout(entry.lease);
    this.incoming.delete(vmId);
    await this.dispose(entry.vm, entry.vm.files.dir, entry.creds);
    return { removed: true };
  }

  /**
   * Removes the VMs a killed process left half come in (their marker is still there and no
   * migration of this engine is bringing them): their QEMU, if it still waits, is stopped.
   * Returns their names.
   */
  async sweep(): Promise<string[]> {
    const removed: string[] = [];
    for (const vm of this.registry.list()) {
      if (this.incoming.has(vm.id)) continue;
      const marker = await readFile(join(vm.files.dir, INCOMING_MARKER), 'utf8').then(
        (text) => JSON.parse(text) as { pid?: number },
        () => null,
      );
      if (!marker) continue;
      // Another Vivarium process on this library may be bringing it in right now.
      if (marker.pid && marker.pid !== process.pid && processAlive(marker.pid)) continue;
      await vm.supervisor.refresh().catch(() => undefined);
      await this.dispose(vm, vm.files.dir, null);
      removed.push(vm.config.name);
    }
    return removed;
  }

  /** Ends every migration still coming in (the engine closes). */
  async close(): Promise<void> {
    await Promise.all([...this.incoming.keys()].map((id) => this.abort(id)));
  }

  private require(vmId: string): Incoming {
    const entry = this.incoming.get(vmId);
    if (!entry) {
      throw new VivariumError(
        'NOT_FOUND',
        'No migration is coming in for that VM here (it finished, or was given up).',
      );
    }
    return entry;
  }

  /** QEMU stopped, the folder removed, the VM forgotten: nothing of a half-made VM stays. */
  private async dispose(vm: Vm | null, dir: string, creds: PskDir | null): Promise<void> {
    if (vm) await vm.supervisor.powerOff().catch(() => undefined);
    await creds?.remove().catch(() => undefined);
    await removeVmFolder(this.registry.paths, dir).catch(() => undefined);
    if (vm) this.registry.remove(vm);
  }

  /** `name (2)`, `name (3)`... the first one free here. */
  private freeName(name: string): string {
    const base = name.replace(/ \(\d+\)$/, '');
    for (let n = 2; ; n++) {
      const candidate = `${base} (${n})`;
      try {
        this.registry.assertNameFree(candidate);
        return candidate;
      } catch {
        // Taken: try the next number.
      }
    }
  }

  private machineTypesOf(binary: string): Promise<Set<string>> {
    this.machineTypes ??= runProgram(binary, ['-machine', 'help'], { timeoutMs: 10_000 }).then(
      (r) => new Set(r.stdout.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '')),
    );
    return this.machineTypes;
  }
}

/** An IPv6 address in brackets, as QEMU's tcp: URIs take it. */
export function uriHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

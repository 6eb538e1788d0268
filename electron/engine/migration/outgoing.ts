/**
 * The source of a live migration, the libvirt way without shared storage: the destination
 * prepares the VM and exports its empty disks over NBD; here each disk is mirrored into its
 * export while the guest runs (`blockdev-mirror`, sync full), then the memory is migrated. QEMU
 * pauses before the switch-over (`pause-before-switchover`): the mirrors are cancelled then
 * (after READY a cancel completes the copy, the guest no longer writes), the last memory and
 * the devices go, and the destination runs the guest. Memory and disk streams use TLS with a
 * key made for this one migration. Anything going wrong before the destination runs the guest
 * (a cancel, the destination dying, a QEMU error) puts the source back as it was.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  IncomingDisk,
  MigrationCheck,
  MigrationPhase,
  MigrationProgress,
  MigrationResult,
  TaskInfo,
} from '../../../common/contract';
import { formatBytes } from '../../../common/format';
import { VivariumError } from '../errors';
import { KEPT_DISKS_MARKER } from '../library/orphans';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { claimFile, claimHolder, type Claim } from '../library/claim-file';
import { ensurePrivateDir } from '../host/runtime-dir';
import { isGuestUp } from '../../../common/vm-state';
import type { QmpEvent } from '../qmp/client';
import type { TaskContext, TaskManager } from '../tasks/task-manager';
import { migrationBlockers, type QmpRunner } from './blockers';
import { blockerContext } from '../../../common/rules/shares';
import { clearMigrationLeftovers, MIGRATING } from './leftovers';
import { uriHost } from './incoming';
import { newPsk, pskCredsObject, writePskDir, type PskDir } from './psk';
import { parseDestination, RemoteVivarium, type Destination } from './remote';

/**
 * Tuned for a LAN, not QEMU's defaults (300 ms, 128 MiB/s): a pause the guest's users do not
 * notice, and no cap below the link's speed. A guest dirtying memory faster than the link
 * drains it never fits in 10 ms: the limit is then raised step by step (see below).
 */
const DOWNTIME_LIMIT_MS = 10;
const MAX_DOWNTIME_LIMIT_MS = 1000;
const MAX_BANDWIDTH = 10 * 2 ** 30;
/** The lease the destination keeps the half-made VM for without hearing from us. */
const LEASE_MS = 30_000;
const RENEW_MS = 5_000;
const POLL_MS = 100;
/** Small files copied with the config (cloud-init seed, the SSH key Vivarium made). */
const MAX_SIDE_FILE = 512 * 1024;

interface Prepared {
  vm: Vm;
  destination: Destination;
  name: string;
  disks: IncomingDisk[];
  machineType: string;
  files: Array<{ path: string; base64: string }>;
}

interface MigrateInfo {
  status?: string;
  'expected-downtime'?: number;
  downtime?: number;
  'total-time'?: number;
  'error-desc'?: string;
  ram?: {
    transferred: number;
    remaining: number;
    total: number;
    'dirty-pages-rate'?: number;
    'page-size'?: number;
    'dirty-sync-count'?: number;
  };
}

interface BlockJob {
  device: string;
  len: number;
  offset: number;
  ready: boolean;
  status: string;
}

/** In the VM's runtime folder: held by the process migrating it. */
const MIGRATION_CLAIM = 'migrating.claim';
const ABANDONED_POLL_MS = 2000;

export class OutgoingMigrations {
  /** VMs migrating now: a second migration of the same VM is refused. */
  private readonly busy = new Set<string>();
  /** Paused VMs watched for a migration whose process died at the switch-over. */
  private readonly watching = new Set<string>();

  constructor(
    private readonly registry: VmRegistry,
    private readonly tasks: TaskManager,
    /** Deletes a stopped VM and its files (the lifecycle's delete). */
    private readonly deleteVm: (id: string) => Promise<unknown>,
  ) {}

  async check(ref: string, to: string, name?: string): Promise<MigrationCheck> {
    const vm = this.registry.resolve(ref);
    // Another window or command migrating it now: its check would see that migration's jobs.
    let claim: Claim;
    try {
      claim = await this.claim(vm);
    } catch (err) {
      if (err instanceof VivariumError && err.code === 'BUSY') {
        return { ...emptyCheck(vm.config.name), reasons: [err.message] };
      }
      throw err;
    }
    try {
      const { check } = await this.examine(ref, to, name);
      return check;
    } finally {
      await claim.release();
    }
  }

  async start(
    ref: string,
    to: string,
    name: string | undefined,
    deleteSource: boolean,
  ): Promise<TaskInfo> {
    const claim = await this.claim(this.registry.resolve(ref));
    let handedOver = false;
    try {
      const task = await this.startClaimed(ref, to, name, deleteSource, claim);
      handedOver = true;
      return task;
    } finally {
      if (!handedOver) await claim.release();
    }
  }

  /**
   * Watches a guest that just paused: when the pause is another process's migration waiting at
   * its switch-over (QEMU's pause-before-switchover) and that process dies, QEMU would wait for
   * its `migrate-continue` forever. The engine that owns the library then clears the migration,
   * and QEMU runs the guest again. Checked every 2 s while a migration is under way.
   */
  watchPaused(vm: Vm): void {
    if (this.watching.has(vm.id) || this.busy.has(vm.id)) return;
    this.watching.add(vm.id);
    const file = join(vm.files.run, MIGRATION_CLAIM);
    const watch = async () => {
      for (;;) {
        if (this.busy.has(vm.id) || !vm.supervisor.attached) return;
        const info = await vm.supervisor.command<MigrateInfo>('query-migrate');
        if (!info.status || !MIGRATING.has(info.status)) return;
        if ((await claimHolder(file)) === null) {
          const claim = await this.claim(vm);
          await claim.release();
          return;
        }
        await sleep(ABANDONED_POLL_MS);
      }
    };
    void watch()
      .catch(() => undefined)
      .finally(() => this.watching.delete(vm.id));
  }

  /**
   * Makes this process the one migrating `vm` (across processes: a claim in its runtime folder),
   * and clears what a migration whose process died left in its QEMU.
   */
  private async claim(vm: Vm): Promise<Claim> {
    if (this.busy.has(vm.id)) {
      throw new VivariumError('BUSY', `"${vm.config.name}" is already migrating.`);
    }
    await ensurePrivateDir(vm.files.run);
    const claim = await claimFile(
      join(vm.files.run, MIGRATION_CLAIM),
      () =>
        new VivariumError(
          'BUSY',
          `"${vm.config.name}" is already migrating (from another Vivarium window or command): wait for it to finish, or cancel it there.`,
        ),
    );
    try {
      if (isGuestUp((await vm.supervisor.refresh()).state)) {
        await clearMigrationLeftovers(
          { execute: (command, args) => vm.supervisor.command(command, args) },
          vm.files.run,
        );
      }
      return claim;
    } catch (err) {
      await claim.release();
      throw err;
    }
  }

  private startClaimed(
    ref: string,
    to: string,
    name: string | undefined,
    deleteSource: boolean,
    claim: Claim,
  ): Promise<TaskInfo> {
    return this.examine(ref, to, name).then(({ check, prepared }) => {
      if (!check.ok || !prepared) {
        throw new VivariumError(
          check.suggestedName ? 'NAME_TAKEN' : 'BAD_STATE',
          check.reasons.join(' '),
          check.suggestedName ? { name: `Taken there: try "${check.suggestedName}"` } : undefined,
        );
      }
      const vm = prepared.vm;
      if (this.busy.has(vm.id)) {
        throw new VivariumError('BUSY', `"${vm.config.name}" is already migrating.`);
      }
      this.busy.add(vm.id);
      return this.tasks.start({
        kind: 'migration.start',
        title: `Migrating "${vm.config.name}" to ${prepared.destination.shown}`,
        vmId: vm.id,
        cancellable: true,
        // Not in the VM's queue: the VM stays usable meanwhile (a power-off ends the migration,
        // which then puts nothing back, as the user asked for the VM to stop).
        run: (ctx) =>
          this.migrate(prepared, deleteSource, ctx).finally(() => {
            this.busy.delete(vm.id);
            return claim.release();
          }),
      });
    });
  }

  // -------------------------------------------------------------------------------------------

  /** The source's refusals, then the destination's. */
  private async examine(
    ref: string,
    to: string,
    wanted?: string,
  ): Promise<{ check: MigrationCheck; prepared: Prepared | null }> {
    const destination = parseDestination(to);
    const vm = this.registry.resolve(ref);
    const name = wanted ?? vm.config.name;
    const reasons: string[] = [];
    const warnings: string[] = [];
    const runtime = await vm.supervisor.refresh();
    const c = vm.config;
    const result = (extra: Partial<MigrationCheck>, prepared: Prepared | null = null) => ({
      check: { ...emptyCheck(name), ok: reasons.length === 0, reasons, warnings, ...extra },
      prepared: reasons.length === 0 ? prepared : null,
    });
    if (runtime.state === 'saving' || runtime.state === 'restoring') {
      reasons.push(
        `"${c.name}" is ${runtime.state === 'saving' ? 'saving a snapshot or its state' : 'loading a snapshot'}: wait until that is done, then migrate.`,
      );
      return result({});
    }
    if (runtime.state !== 'running' && runtime.state !== 'paused') {
      reasons.push(
        `"${c.name}" is ${runtime.state}: live migration moves a running VM; start it first.`,
      );
      return result({});
    }
    if (this.busy.has(vm.id)) reasons.push(`"${c.name}" is already migrating.`);
    const qmp: QmpRunner = {
      execute: <T>(command: string, args?: Record<string, unknown>) =>
        vm.supervisor.command<T>(command, args),
    };
    reasons.push(...(await migrationBlockers(qmp, 'migrate', blockerContext(c))));
    const jobs = await qmp.execute<BlockJob[]>('query-block-jobs');
    if (jobs.length) {
      reasons.push(
        `"${c.name}" has a disk job running (${jobs.map((j) => j.device).join(', ')}): wait until it ends.`,
      );
    }
    if (c.tpm) {
      reasons.push(
        `"${c.name}" has a TPM, whose state Vivarium cannot move yet: turn the TPM off in its settings first (while it is off).`,
      );
    }
    if (runtime.accel === 'kvm' && c.cpu.model === 'host') {
      reasons.push(
        `"${c.name}" uses CPU model "host" under KVM: the guest sees this computer's exact CPU and would crash on another one. Pick a named model (e.g. x86-64-v2) in its settings, restart it, then migrate.`,
      );
    } else if (runtime.accel === 'kvm' && c.cpu.model === 'max') {
      warnings.push(
        `"${c.name}" uses CPU model "max" under KVM (this computer's CPU features): the destination's CPU must have every one of them.`,
      );
    }
    const machineType = await this.machineType(qmp, c.machine);
    const disks = await this.blockNodes(qmp, vm);
    const files = await this.sideFiles(vm);
    const diskBytes = disks.reduce((s, d) => s + d.allocated, 0);
    let remote: RemoteVivarium;
    try {
      remote = await RemoteVivarium.connect(destination);
    } catch (err) {
      reasons.push(err instanceof Error ? err.message : String(err));
      return result({ diskBytes });
    }
    try {
      const there = await remote.call('migration.incomingCheck', {
        config: c,
        disks,
        name,
        machineType,
        files: [],
      });
      reasons.push(...there.reasons);
      return result(
        {
          suggestedName: there.suggestedName,
          diskBytes,
          destinationFreeBytes: there.freeBytes,
          destination: { qemuVersion: there.qemuVersion },
        },
        { vm, destination, name, disks, machineType, files },
      );
    } finally {
      remote.close();
    }
  }

  /** The versioned machine type QEMU runs for the config's alias (q35 -> pc-q35-7.2). */
  private async machineType(qmp: QmpRunner, alias: string): Promise<string> {
    const machines = await qmp.execute<Array<{ name: string; alias?: string }>>('query-machines');
    return machines.find((m) => m.alias === alias)?.name ?? alias;
  }

  /** The VM's writable block nodes with their sizes: the disks, and the UEFI variables. */
  private async blockNodes(qmp: QmpRunner, vm: Vm): Promise<IncomingDisk[]> {
    interface Image {
      'virtual-size': number;
      'actual-size'?: number;
      'backing-image'?: Image;
    }
    const nodes = await qmp.execute<Array<{ 'node-name': string; image: Image }>>(
      'query-named-block-nodes',
      { flat: true },
    );
    const ids = [
      ...vm.config.disks.map((d) => d.id),
      ...(vm.config.firmware === 'uefi' ? ['fw-vars'] : []),
    ];
    return ids.map((id) => {
      const node = nodes.find((n) => n['node-name'] === id);
      if (!node) {
        throw new VivariumError('QEMU_FAILED', `QEMU has no block node ${id} for this VM.`);
      }
      let allocated = 0;
      for (let img: Image | undefined = node.image; img; img = img['backing-image']) {
        allocated += img['actual-size'] ?? 0;
      }
      return { id, virtualSize: node.image['virtual-size'], allocated };
    });
  }

  /** The cloud-init seed and Vivarium's SSH key pair: read by QEMU or the user, never written. */
  private async sideFiles(vm: Vm): Promise<Array<{ path: string; base64: string }>> {
    const ci = vm.config.cloudInit;
    if (!ci) return [];
    const paths = [ci.seed, ...(ci.keyFile ? [ci.keyFile, `${ci.keyFile}.pub`] : [])];
    const out: Array<{ path: string; base64: string }> = [];
    for (const path of paths) {
      const full = join(vm.files.dir, path);
      const size = await stat(full).then(
        (s) => s.size,
        () => null,
      );
      if (size === null) continue;
      if (size > MAX_SIDE_FILE) {
        throw new VivariumError(
          'BAD_STATE',
          `${path} in the VM's folder is larger than ${formatBytes(MAX_SIDE_FILE)}: Vivarium cannot send it along.`,
        );
      }
      out.push({ path, base64: (await readFile(full)).toString('base64') });
    }
    return out;
  }

  private async migrate(
    p: Prepared,
    deleteSource: boolean,
    ctx: TaskContext,
  ): Promise<MigrationResult> {
    const started = performance.now();
    const { vm, destination } = p;
    const sup = vm.supervisor;
    const wasRunning = sup.current.state === 'running';
    const q = <T>(command: string, args?: Record<string, unknown>) => sup.command<T>(command, args);
    const disk = {
      transferred: 0,
      remaining: 0,
      total: p.disks.reduce((s, d) => s + d.virtualSize, 0),
    };
    let phase: MigrationPhase = 'prepare';
    let ram: MigrationProgress['ram'] = null;
    let dirty: number | null = null;
    let expected: number | null = null;
    let iterations = 0;
    const report = () => {
      // Progress counts what is across (memory QEMU need not send, zero pages, included).
      const done = disk.transferred + (ram ? ram.total - ram.remaining : 0);
      const total = disk.total + (ram?.total ?? 0);
      ctx.report({
        bytesDone: done,
        bytesTotal: total,
        message:
          phase === 'prepare'
            ? 'Preparing the VM on the destination'
            : phase === 'disks'
              ? `Copying disks: ${formatBytes(disk.transferred)} of ${formatBytes(disk.total)}`
              : phase === 'memory'
                ? `Copying memory: ${formatBytes(ram?.remaining ?? 0)} left`
                : 'Switching over',
        detail: {
          phase,
          disk: { ...disk, remaining: Math.max(0, disk.total - disk.transferred) },
          ram,
          dirtyBytesPerSecond: dirty,
          expectedDowntimeMs: expected,
          iterations,
        } satisfies MigrationProgress,
      });
    };
    report();

    // Stops on a cancel, on the destination's end, or on QEMU's.
    const stop = new AbortController();
    const onCancel = () => stop.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onCancel);
    const stopped = () => {
      if (stop.signal.aborted) {
        throw stop.signal.reason instanceof Error
          ? stop.signal.reason
          : new VivariumError('CANCELLED', 'Cancelled');
      }
    };
    const events: QmpEvent[] = [];
    const wake = new Set<() => void>();
    let migrating = false;
    /** When the guest was paused for the switch-over (the STOP event's arrival). */
    const pause: { at: number | null } = { at: null };
    const offEvents = sup.watchQmp((e) => {
      if (e.event === 'STOP' && migrating) pause.at ??= performance.now();
      events.push(e);
      for (const w of [...wake]) w();
    });
    /** Waits for an event (or POLL_MS, to poll) or the stop. */
    const nap = (ms = POLL_MS) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          wake.delete(done);
          stop.signal.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, ms);
        wake.add(done);
        stop.signal.addEventListener('abort', done);
      });

    /** The first event seen (since the last reset of `events`) that `match` accepts. */
    const eventSeen = async (match: (e: QmpEvent) => boolean): Promise<QmpEvent> => {
      for (;;) {
        stopped();
        const found = events.find(match);
        if (found) return found;
        await nap(1000);
      }
    };
    let remote: RemoteVivarium | null = null;
    let creds: PskDir | null = null;
    let credsAdded = false;
    const nodes: string[] = [];
    const jobs: string[] = [];
    let destVmId: string | null = null;
    let handedOver = false;
    let renew: NodeJS.Timeout | null = null;
    try {
      remote = await RemoteVivarium.connect(destination);
      remote.onLost((err) => stop.abort(err));
      const psk = newPsk();
      creds = await writePskDir(vm.files.run, psk);
      stopped();
      const plan = await remote.call(
        'migration.prepareIncoming',
        {
          config: vm.config,
          disks: p.disks,
          name: p.name,
          machineType: p.machineType,
          files: p.files,
          psk,
          host: destination.host,
          leaseMs: LEASE_MS,
        },
        120_000,
      );
      destVmId = plan.vmId;
      const vmId = plan.vmId;
      renew = setInterval(() => {
        remote?.call('migration.renewIncoming', { vmId }).catch(() => undefined);
      }, RENEW_MS);
      stopped();

      await q('object-add', pskCredsObject(creds, 'client'));
      credsAdded = true;
      phase = 'disks';
      const tag = randomBytes(3).toString('hex');
      for (const d of p.disks) {
        const node = `mig-${tag}-${d.id}`;
        await q('blockdev-add', {
          driver: 'nbd',
          'node-name': node,
          server: { type: 'inet', host: plan.host, port: String(plan.nbdPort) },
          export: plan.exports[d.id] ?? d.id,
          'tls-creds': creds.credsId,
          // The guest's pause flushes every node: a flush over the network would lengthen it,
          // and the destination's own disks take the guest's flushes once it runs there.
          cache: { 'no-flush': true },
        });
        nodes.push(node);
        await q('blockdev-mirror', { 'job-id': node, device: d.id, target: node, sync: 'full' });
        jobs.push(node);
      }
      for (;;) {
        stopped();
        const all = await q<BlockJob[]>('query-block-jobs');
        const ours = all.filter((j) => jobs.includes(j.device));
        if (ours.length < jobs.length) {
          throw new VivariumError(
            'QEMU_FAILED',
            `A disk copy to the destination stopped: ${jobErrors(events) ?? 'QEMU gave no reason'}.`,
          );
        }
        disk.transferred = ours.reduce((s, j) => s + j.offset, 0);
        report();
        if (ours.every((j) => j.ready)) break;
        await nap();
      }

      phase = 'memory';
      await q('migrate-set-capabilities', {
        capabilities: [
          { capability: 'events', state: true },
          { capability: 'pause-before-switchover', state: true },
        ],
      });
      let limit = DOWNTIME_LIMIT_MS;
      await q('migrate-set-parameters', {
        'tls-creds': creds.credsId,
        'downtime-limit': limit,
        'max-bandwidth': MAX_BANDWIDTH,
      });
      stopped();
      events.length = 0;
      migrating = true;
      await q('migrate', { uri: `tcp:${uriHost(plan.host)}:${plan.migratePort}` });
      let raisedAt = performance.now();
      const preSwitchover = (e: QmpEvent) =>
        e.event === 'MIGRATION' && (e.data as { status?: string }).status === 'pre-switchover';
      for (;;) {
        stopped();
        if (events.some(preSwitchover)) {
          pause.at ??= performance.now();
          break;
        }
        const info = await q<MigrateInfo>('query-migrate');
        if (info.status === 'pre-switchover') {
          pause.at ??= performance.now();
          break;
        }
        if (info.status === 'failed' || info.status === 'cancelled') {
          throw new VivariumError(
            'QEMU_FAILED',
            `The memory copy failed: ${info['error-desc'] ?? info.status}.`,
          );
        }
        if (info.ram) {
          const r = info.ram;
          ram = { transferred: r.transferred, remaining: r.remaining, total: r.total };
          dirty = (r['dirty-pages-rate'] ?? 0) * (r['page-size'] ?? 4096) || null;
          iterations = r['dirty-sync-count'] ?? iterations;
        }
        expected = info['expected-downtime'] ?? expected;
        const jobsNow = await q<BlockJob[]>('query-block-jobs');
        disk.transferred = jobsNow
          .filter((j) => jobs.includes(j.device))
          .reduce((s, j) => s + j.offset, 0);
        report();
        // A guest that dirties memory faster than the link drains it never fits the limit:
        // allow a longer pause, step by step, rather than copy for ever.
        if (
          iterations >= 5 &&
          performance.now() - raisedAt > 2000 &&
          limit < MAX_DOWNTIME_LIMIT_MS
        ) {
          limit = Math.min(MAX_DOWNTIME_LIMIT_MS, limit * 2);
          raisedAt = performance.now();
          await q('migrate-set-parameters', { 'downtime-limit': limit });
        }
        if (events.some(preSwitchover)) continue;
        await nap();
      }

      // The guest is paused now: the mirrors finish what it last wrote, then let go.
      // Every step of the pause waits on QEMU's events rather than polling: each poll would add
      // a round trip to the guest's pause.
      phase = 'switchover';
      await Promise.all(jobs.map((job) => q('block-job-cancel', { device: job })));
      for (const job of jobs) {
        await eventSeen(
          (e) =>
            e.event === 'BLOCK_JOB_COMPLETED' && (e.data as { device?: string }).device === job,
        );
      }
      const failedJob = jobErrors(events);
      if (failedJob) throw new VivariumError('QEMU_FAILED', `A disk copy failed: ${failedJob}.`);
      jobs.length = 0;
      stopped();
      await q('migrate-continue', { state: 'pre-switchover' });
      const ended = await eventSeen((e) => {
        const status = e.event === 'MIGRATION' ? (e.data as { status?: string }).status : null;
        return status === 'completed' || status === 'failed' || status === 'cancelled';
      });
      if ((ended.data as { status?: string }).status !== 'completed') {
        const info = await q<MigrateInfo>('query-migrate');
        throw new VivariumError(
          'QEMU_FAILED',
          `The switch-over failed: ${info['error-desc'] ?? info.status ?? 'QEMU gave no reason'}.`,
        );
      }
      // From here the destination holds the only up-to-date guest: a cancel no longer applies.
      const summary = await remote.call('migration.finishIncoming', { vmId, resume: wasRunning });
      handedOver = true;
      const endedAt = performance.now();
      report();
      const final = await q<MigrateInfo>('query-migrate');
      for (const node of nodes.splice(0)) {
        await q('blockdev-del', { 'node-name': node }).catch(() => undefined);
      }
      const downtimeMs = Math.round(endedAt - pause.at);
      const transferredBytes = disk.transferred + (final.ram?.transferred ?? 0);
      const sourceFolder = await this.retire(vm, destination, deleteSource);
      return {
        vmId: summary.id,
        name: summary.name,
        downtimeMs,
        totalMs: Math.round(endedAt - started),
        transferredBytes,
        qemuDowntimeMs: final.downtime ?? null,
        sourceFolder,
      };
    } catch (err) {
      if (!handedOver)
        await this.rollback(vm, { migrating, jobs, nodes, credsAdded, creds, wasRunning });
      if (remote && destVmId && !handedOver && !remote.closed) {
        await remote
          .call('migration.abortIncoming', { vmId: destVmId }, 30_000)
          .catch(() => undefined);
      }
      throw stop.signal.aborted && ctx.signal.aborted
        ? new VivariumError('CANCELLED', 'Migration cancelled: the VM keeps running here.')
        : err;
    } finally {
      if (renew) clearInterval(renew);
      offEvents();
      ctx.signal.removeEventListener('abort', onCancel);
      remote?.close();
      if (handedOver || !credsAdded) await creds?.remove().catch(() => undefined);
    }
  }

  /** Puts the source back as it was: no migration, no mirror, no NBD node, the guest running. */
  private async rollback(
    vm: Vm,
    s: {
      migrating: boolean;
      jobs: string[];
      nodes: string[];
      credsAdded: boolean;
      creds: PskDir | null;
      wasRunning: boolean;
    },
  ): Promise<void> {
    const sup = vm.supervisor;
    if (!sup.attached) return;
    const q = <T>(command: string, args?: Record<string, unknown>) =>
      sup.command<T>(command, args).catch(() => undefined as T | undefined);
    if (s.migrating) {
      await q('migrate_cancel');
      const deadline = Date.now() + 15_000;
      for (;;) {
        const info = await q<MigrateInfo>('query-migrate');
        const st = info?.status;
        if (!st || st === 'cancelled' || st === 'failed' || st === 'completed') break;
        if (Date.now() > deadline) break;
        await sleep(10);
      }
    }
    for (const job of s.jobs) await q('block-job-cancel', { device: job, force: true });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const left = ((await q<BlockJob[]>('query-block-jobs')) ?? []).filter((j) =>
        s.jobs.includes(j.device),
      );
      if (left.length === 0) break;
      await sleep(10);
    }
    for (const node of s.nodes) await q('blockdev-del', { 'node-name': node });
    if (s.credsAdded && s.creds) await q('object-del', { id: s.creds.credsId });
    await s.creds?.remove().catch(() => undefined);
    // A migration that completed on this side but never ran on the destination leaves the guest
    // paused in postmigrate: it is this side's again.
    const status = (await q<{ status: string }>('query-status'))?.status;
    if (
      s.wasRunning &&
      (status === 'postmigrate' || status === 'paused' || status === 'finish-migrate')
    ) {
      await q('cont');
    }
  }

  /** The source's QEMU ends and the VM leaves this library; its folder stays unless asked. */
  private async retire(
    vm: Vm,
    destination: Destination,
    deleteSource: boolean,
  ): Promise<string | null> {
    await vm.supervisor.powerOff();
    if (deleteSource) {
      await this.deleteVm(vm.id);
      return null;
    }
    const marker = join(vm.files.dir, KEPT_DISKS_MARKER);
    await writeFile(
      marker,
      `${JSON.stringify({
        name: vm.config.name,
        migratedTo: destination.shown,
        migratedAt: new Date().toISOString(),
      })}\n`,
    );
    // Without vm.json the folder is no longer a VM here; the config stays beside its disks.
    await rename(vm.files.config, `${vm.files.config}.migrated`);
    await rm(vm.files.run, { recursive: true, force: true });
    this.registry.remove(vm);
    return vm.files.dir;
  }
}

/** A check's answer before anything about the VM or the destination was looked at. */
function emptyCheck(name: string): MigrationCheck {
  return {
    ok: false,
    reasons: [],
    warnings: [],
    name,
    suggestedName: null,
    diskBytes: 0,
    destinationFreeBytes: null,
    destination: null,
  };
}

/** The error of a block job that ended with one, from the events seen. */
function jobErrors(events: QmpEvent[]): string | null {
  for (const e of events) {
    if (e.event !== 'BLOCK_JOB_COMPLETED' && e.event !== 'BLOCK_JOB_ERROR') continue;
    const data = (e.data ?? {}) as { error?: string; device?: string; operation?: string };
    if (data.error) return `${data.device ?? 'a disk'}: ${data.error}`;
    if (e.event === 'BLOCK_JOB_ERROR')
      return `${data.device ?? 'a disk'}: ${data.operation ?? 'I/O'} error`;
  }
  return null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

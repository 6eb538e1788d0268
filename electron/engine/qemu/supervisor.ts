import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { appendFile, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Accelerator, ShutdownResult, VmRuntime, VmState } from '../../../common/contract';
import { isLive, isSaved } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { VmFiles } from '../paths';
import {
  connectWhenReady,
  QmpClient,
  QmpClosedError,
  QmpError,
  type QmpEvent,
  type RunJobOptions,
} from '../qmp/client';
import { ensurePrivateDir } from '../host/runtime-dir';
import { readSavedState, removeSavedState } from '../savestate/state-file';
import { processAlive, readTail } from './process-info';
import { isOurQemu, liveQemuPid, readPidFile } from './pid-file';
import { startSwtpm, stopSwtpm, type TpmLaunch } from './swtpm';

export type EngineRole = 'owner' | 'oneshot';

export interface LaunchPlan {
  binary: string;
  args: string[];
  accel: Accelerator;
  accelNotice: string | null;
  /** Leave the guest paused (QEMU's -S) instead of sending `cont`: e.g. to load a snapshot first. */
  paused?: boolean;
  /** swtpm to start before QEMU (whose argv already points at its socket). */
  tpm?: TpmLaunch;
  /**
   * Network devices (ids) whose link is set down before the guest runs: cards with no cable,
   * which QEMU would otherwise show as connected (its argv cannot say so).
   */
  linksDown?: string[];
  /**
   * Start QEMU waiting for incoming state instead of booting. `fd`: a saved state file, opened
   * here and handed to QEMU as its fd 3 (`-incoming fd:3`, which works under the sandbox's
   * spawn=deny); it is removed once the guest runs again. `defer`: `-incoming defer` plus
   * `-object` arguments (a live migration's TLS credentials); the migration service drives it.
   */
  incoming?: { kind: 'fd'; path: string } | { kind: 'defer'; objects: string[] };
}

interface PersistedRuntime {
  lastExit: VmRuntime['lastExit'];
  accel: Accelerator | null;
  accelNotice: string | null;
  startedAt: string | null;
}

/** QMP's run states in the state machine's words. */
export function stateFromQmpStatus(status: string): VmState {
  switch (status) {
    case 'running':
      return 'running';
    case 'paused':
    case 'suspended':
    case 'prelaunch':
    case 'debug':
    case 'io-error':
    case 'watchdog':
      return 'paused';
    case 'inmigrate':
    case 'restore-vm':
      return 'restoring';
    case 'save-vm':
    case 'finish-migrate':
    case 'postmigrate':
      return 'saving';
    case 'shutdown':
      return 'stopping';
    case 'internal-error':
    case 'guest-panicked':
      return 'crashed';
    default:
      return 'running';
  }
}

const STDERR_TAIL_BYTES = 4096;

export interface SupervisorOptions {
  /**
   * Runs a start under a lock every Vivarium process on this library shares, so two processes
   * starting the same VM give one QEMU (the library's start lock). Without it, only this
   * process's queue orders starts.
   */
  startLock?: <T>(work: () => Promise<T>) => Promise<T>;
}

/**
 * Owns one VM's QEMU process: the state machine (stopped, starting, running, pausing, paused,
 * resuming, stopping, crashed), the QMP connection and what happens when QEMU ends. Every
 * operation runs through one queue, so two clicks on Start give one QEMU.
 */
export class VmSupervisor {
  private runtime: VmRuntime = {
    state: 'stopped',
    pid: null,
    accel: null,
    startedAt: null,
    accelNotice: null,
    lastExit: null,
    lastError: null,
    savedAt: null,
  };
  private qmp: QmpClient | null = null;
  private child: ChildProcess | null = null;
  /** QEMU announced SHUTDOWN (guest power-off, quit, signal): its exit is not a crash. */
  private sawShutdown = false;
  /** We asked QEMU to end (power off): treat any exit as a clean stop. */
  private expectingExit = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly exits = new EventEmitter();
  private detaching = false;
  /** STOP/RESUME events seen while attaching: non-null only then (see attach). */
  private attachMoves: number | null = null;
  /** Set once the VM left the library: work still queued for it must not touch its files. */
  private retiredBecause: string | null = null;

  constructor(
    readonly id: string,
    private readonly files: VmFiles,
    private readonly role: EngineRole,
    private readonly onChange: (runtime: VmRuntime) => void,
    private readonly opts: SupervisorOptions = {},
  ) {}

  get current(): VmRuntime {
    return { ...this.runtime };
  }

  get attached(): boolean {
    return this.qmp !== null && !this.qmp.closed;
  }

  /**
   * Runs `work` after every operation queued before it on this VM; once the VM is deleted, work
   * that was waiting behind the delete fails with NOT_FOUND instead of writing into (and so
   * bringing back) the folder the delete removed or kept.
   */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const turn = (): Promise<T> =>
      this.retiredBecause === null
        ? work()
        : Promise.reject(new VivariumError('NOT_FOUND', this.retiredBecause));
    const next = this.queue.then(turn, turn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private set(patch: Partial<VmRuntime>): void {
    const before = this.runtime;
    this.runtime = { ...before, ...patch };
    if (
      before.state !== this.runtime.state ||
      before.pid !== this.runtime.pid ||
      before.lastError !== this.runtime.lastError
    ) {
      this.onChange(this.current);
    }
  }

  private async logEvent(text: string): Promise<void> {
    await appendFile(this.files.eventsLog, `${new Date().toISOString()} ${text}\n`).catch(
      () => undefined,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Finding out the true state (attach / re-attach)

  /** Brings the state up to date from what is on disk and in QEMU; re-attaches if needed. */
  refresh(): Promise<VmRuntime> {
    return this.serialize(() => this.refreshNow());
  }

  private async refreshNow(): Promise<VmRuntime> {
    if (this.attached) return this.current;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      return this.current;
    }
    const persisted = await this.readPersisted();
    const pid = await readPidFile(this.files.pidFile);
    if (pid === null) {
      const saved = await readSavedState(this.files);
      this.set({
        state: saved ? 'saved' : persisted?.lastExit ? 'crashed' : 'stopped',
        pid: null,
        lastExit: persisted?.lastExit ?? null,
        savedAt: saved?.savedAt ?? null,
      });
      return this.current;
    }
    if (!processAlive(pid) || !(await isOurQemu(pid, this.id))) {
      // QEMU removes its pid file when it ends normally: a stale one means it was killed.
      const lastExit = persisted?.lastExit ?? {
        code: null,
        signal: null,
        stderrTail: await readTail(this.files.qemuLog, STDERR_TAIL_BYTES),
      };
      await this.persist({ ...emptyPersisted(), ...persisted, lastExit });
      this.set({ state: 'crashed', pid: null, lastExit });
      return this.current;
    }
    await this.attach(pid, persisted);
    return this.current;
  }

  private async attach(pid: number, persisted: PersistedRuntime | null): Promise<void> {
    const qmp = await this.connectAnyQmp(pid);
    this.useQmp(qmp);
    // The process that started QEMU may `cont` it while we ask: its RESUME can arrive in the same
    // read as our query-status reply and be handled before the state is set from that reply (and
    // so be dropped). Ask again until no run-state event came in between.
    let status: { status: string };
    let tries = 0;
    try {
      do {
        this.attachMoves = 0;
        status = await qmp.execute<{ status: string }>('query-status');
      } while (this.attachMoves > 0 && ++tries < 5);
    } finally {
      this.attachMoves = null;
    }
    this.sawShutdown = false;
    // A guest that runs on from a saved state makes that state stale (its disks moved on): the
    // process that resumed it ended before it could remove it. While a save is still being
    // finished QEMU is in postmigrate, never running, so a save in progress is left alone.
    if (status.status === 'running' && (await readSavedState(this.files))) {
      await removeSavedState(this.files);
    }
    this.set({
      state: stateFromQmpStatus(status.status),
      pid,
      accel: persisted?.accel ?? null,
      accelNotice: persisted?.accelNotice ?? null,
      startedAt: persisted?.startedAt ?? null,
      lastExit: null,
      savedAt: null,
    });
  }

  /** QMP sockets in this engine's order of preference (see VmFiles.qmpSockets). */
  private qmpSockets(): string[] {
    const all = this.files.qmpSockets;
    return this.role === 'owner' ? [...all] : [...all].reverse();
  }

  /** A busy QMP socket accepts but never greets: try the next one after a short wait. */
  private async connectAnyQmp(pid: number): Promise<QmpClient> {
    let lastError: unknown;
    for (const socket of this.qmpSockets()) {
      try {
        return await QmpClient.connect(socket, { greetingTimeoutMs: 1500 });
      } catch (err) {
        lastError = err;
      }
    }
    throw new VivariumError(
      'QMP_ERROR',
      `Could not reach the running VM's QEMU (pid ${pid}) over QMP: ${errorText(lastError)}. ` +
        'Other Vivarium windows or commands may be using it; try again in a moment.',
    );
  }

  private useQmp(qmp: QmpClient): void {
    this.qmp = qmp;
    qmp.onEvent((event) => this.onQmpEvent(event));
    qmp.onClose(() => {
      if (this.qmp === qmp) this.qmp = null;
      if (!this.detaching) void this.onQmpClosed();
    });
  }

  private onQmpEvent(event: QmpEvent): void {
    void this.logEvent(`${event.event}${event.data ? ' ' + JSON.stringify(event.data) : ''}`);
    if (this.attachMoves !== null && (event.event === 'STOP' || event.event === 'RESUME')) {
      this.attachMoves++;
    }
    switch (event.event) {
      case 'STOP':
        if (this.runtime.state === 'running' || this.runtime.state === 'pausing') {
          this.set({ state: 'paused' });
        }
        break;
      case 'RESUME':
        if (this.runtime.state === 'paused' || this.runtime.state === 'resuming') {
          this.set({ state: 'running' });
        }
        break;
      case 'SHUTDOWN':
        this.sawShutdown = true;
        if (isLive(this.runtime.state)) this.set({ state: 'stopping' });
        break;
      default:
        break;
    }
  }

  /** Without a child handle (re-attached VM), QMP's end is how QEMU's end is seen. */
  private async onQmpClosed(): Promise<void> {
    if (this.child) return; // the child's exit event decides
    const pid = this.runtime.pid;
    if (pid !== null) {
      const deadline = Date.now() + 5000;
      while (processAlive(pid) && Date.now() < deadline) await sleep(10);
    }
    const pidFileLeft = (await readPidFile(this.files.pidFile)) !== null;
    await this.concludeExit(null, null, this.sawShutdown || this.expectingExit || !pidFileLeft);
  }

  private async concludeExit(
    code: number | null,
    signal: NodeJS.Signals | null,
    clean: boolean,
  ): Promise<void> {
    if (this.runtime.state === 'stopped' || this.runtime.state === 'crashed') {
      this.exits.emit('exit');
      return;
    }
    this.qmp?.close();
    this.qmp = null;
    this.child = null;
    if (clean) {
      await rm(this.files.runtimeState, { force: true });
      await rm(this.files.pidFile, { force: true });
      await this.logEvent(`QEMU exited${code !== null ? ` with status ${code}` : ''}`);
      const saved = await readSavedState(this.files);
      this.set({
        state: saved ? 'saved' : 'stopped',
        pid: null,
        startedAt: null,
        lastExit: null,
        savedAt: saved?.savedAt ?? null,
      });
    } else {
      const stderrTail = await readTail(this.files.qemuLog, STDERR_TAIL_BYTES);
      const lastExit = { code, signal, stderrTail };
      await this.persist({ ...emptyPersisted(), ...(await this.readPersisted()), lastExit });
      const how = signal ? `was killed by ${signal}` : `exited with status ${code ?? 'unknown'}`;
      await this.logEvent(`QEMU ${how} unexpectedly`);
      await appendFile(
        this.files.qemuLog,
        `${new Date().toISOString()} vivarium: QEMU ${how}; the VM is marked crashed\n`,
      ).catch(() => undefined);
      // A QEMU that died while loading a saved state leaves that state as it was: still saved.
      const saved = await readSavedState(this.files);
      this.set({
        state: saved ? 'saved' : 'crashed',
        pid: null,
        startedAt: null,
        lastExit,
        lastError: `QEMU ${how}. See the VM's log for details.`,
        savedAt: saved?.savedAt ?? null,
      });
    }
    this.exits.emit('exit');
  }

  /** Waits for QEMU to end; a forced power-off cuts a shutdown's wait short ('interrupt'). */
  private waitForExit(timeoutMs: number): Promise<boolean> {
    if (!isLive(this.runtime.state)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.exits.off('exit', onExit);
        this.exits.off('interrupt', onInterrupt);
        resolve(value);
      };
      const onExit = () => done(true);
      const onInterrupt = () => done(!isLive(this.runtime.state));
      const timer = setTimeout(() => done(!isLive(this.runtime.state)), timeoutMs);
      this.exits.on('exit', onExit);
      this.exits.on('interrupt', onInterrupt);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Operations

  /**
   * Starts QEMU. A VM this engine already runs is refused (BAD_STATE). Another process may be
   * starting the same VM at this moment: under the shared start lock the true state is read
   * again, and a VM that came up after this start was asked for is reported as it is (the other
   * start won, this one joins it) without touching that QEMU's files.
   */
  start(plan: LaunchPlan): Promise<VmRuntime> {
    const askedAt = Date.now();
    return this.serialize(async () => {
      // Started by this engine: a second click. A QEMU this engine only attached to may be
      // another process's start still under way: that is decided under the start lock.
      if (this.child && isLive(this.runtime.state)) {
        throw new VivariumError('BAD_STATE', `The VM is already ${this.runtime.state}.`);
      }
      const locked = this.opts.startLock ?? ((work) => work());
      return locked(async () => {
        const before = await this.refreshNow();
        if (isLive(before.state)) {
          // Read again: attached while another process's start was under way, this engine
          // holds the time its QEMU was spawned, not the time that start finished.
          const startedAt = (await this.readPersisted())?.startedAt ?? before.startedAt;
          const since = startedAt ? Date.parse(startedAt) : NaN;
          if (since >= askedAt) return this.current;
          throw new VivariumError('BAD_STATE', `The VM is already ${before.state}.`);
        }
        // Not ours to clean up: a QEMU this engine could not identify or reach holds the VM.
        const holder = await liveQemuPid(this.files.pidFile, this.id);
        if (holder !== null) {
          throw new VivariumError(
            'BAD_STATE',
            `A QEMU (pid ${holder}) still holds this VM's files: stop it first (vivarium stop --force).`,
          );
        }
        await this.launch(plan);
        return this.current;
      });
    });
  }

  private async launch(plan: LaunchPlan): Promise<void> {
    const f = this.files;
    await ensurePrivateDir(f.run);
    await mkdir(f.logsDir, { recursive: true });
    // `start` found no live QEMU holding the pid file, under the start lock: these are a dead
    // QEMU's leftovers (a live one's sockets would be stolen by the new QEMU's).
    await Promise.all(
      [...f.qmpSockets, f.vncSock, f.serialSock, f.monitorSock, f.pidFile].map((p) =>
        rm(p, { force: true }),
      ),
    );
    await rename(f.serialLog, `${f.serialLog}.1`).catch(() => undefined);
    await rm(f.runtimeState, { force: true });
    const startedAt = new Date().toISOString();
    await appendFile(
      f.qemuLog,
      `\n${startedAt} vivarium: starting ${plan.binary} (${plan.accel})\n` +
        `${startedAt} vivarium: argv ${JSON.stringify(plan.args)}\n`,
    );
    if (plan.tpm) {
      await startSwtpm(plan.tpm);
      await appendFile(f.qemuLog, `${startedAt} vivarium: swtpm listening on ${plan.tpm.socket}\n`);
    }
    const restoring = plan.incoming?.kind === 'fd' ? plan.incoming : null;
    // Opened before QEMU starts so a missing or unreadable file is this start's clear error.
    const stateFile = restoring
      ? await open(restoring.path, 'r').catch((err: unknown) => {
          throw new VivariumError(
            'FILE_NOT_FOUND',
            `Could not read the VM's saved state (${restoring.path}): ${errorText(err)}. ` +
              'Discard the saved state (vivarium discard-state) to boot the VM fresh.',
          );
        })
      : null;
    const launchArgs =
      plan.incoming?.kind === 'defer'
        ? [
            ...plan.args,
            ...plan.incoming.objects.flatMap((o) => ['-object', o]),
            '-incoming',
            'defer',
          ]
        : plan.args;
    const log = await open(f.qemuLog, 'a');
    let child: ChildProcess;
    let spawnOutcome: Promise<Error | null>;
    try {
      const args = stateFile ? [...launchArgs, '-incoming', 'fd:3'] : launchArgs;
      // Detached with its output in a file: the VM keeps running when the app quits.
      child = spawn(plan.binary, args, {
        detached: true,
        stdio: stateFile ? ['ignore', log.fd, log.fd, stateFile.fd] : ['ignore', log.fd, log.fd],
        cwd: f.run,
      });
      // 'spawn' fires on the next tick: listen before awaiting anything else.
      spawnOutcome = new Promise<Error | null>((resolve) => {
        child.once('spawn', () => resolve(null));
        child.once('error', (err) => resolve(err));
      });
    } finally {
      await log.close();
      // QEMU has its own copy of the descriptor.
      await stateFile?.close();
    }
    const spawned = await spawnOutcome;
    if (spawned) {
      if (plan.tpm) await stopSwtpm(plan.tpm.pidFile);
      throw new VivariumError(
        'QEMU_MISSING',
        `Could not run ${plan.binary}: ${spawned.message}. Install QEMU (Debian/Ubuntu: sudo apt install qemu-system-x86).`,
      );
    }
    child.unref();
    this.child = child;
    this.sawShutdown = false;
    this.expectingExit = false;
    const exited = new AbortController();
    let starting = true;
    child.once('exit', (code, signal) => {
      exited.abort();
      if (starting) return;
      if (this.child === child) this.child = null;
      const clean = (this.sawShutdown || this.expectingExit) && signal !== 'SIGKILL';
      void this.concludeExit(code, signal, clean || (this.expectingExit && signal === 'SIGKILL'));
    });
    this.set({
      state: 'starting',
      pid: child.pid ?? null,
      accel: plan.accel,
      accelNotice: plan.accelNotice,
      startedAt: null,
      lastExit: null,
      lastError: null,
    });
    await this.persist({
      lastExit: null,
      accel: plan.accel,
      accelNotice: plan.accelNotice,
      startedAt,
    });
    try {
      const qmp = await connectWhenReady(this.qmpSockets(), {
        deadlineMs: 30_000,
        signal: exited.signal,
      });
      this.useQmp(qmp);
      if (restoring) {
        // The cards' link state is part of the saved state: nothing to set here.
        this.set({ state: 'restoring' });
        await waitWhileIncoming(qmp, exited.signal);
      } else {
        for (const name of plan.linksDown ?? []) {
          await qmp.execute('set_link', { name, up: false });
        }
      }
      if (!plan.paused) await qmp.execute('cont');
      if (restoring) {
        // Only now: until the guest runs, a failed resume can be tried again from the file.
        await removeSavedState(f);
        await this.logEvent('resumed from the saved state; saved state removed');
      }
      starting = false;
      const running = new Date().toISOString();
      await this.persist({
        lastExit: null,
        accel: plan.accel,
        accelNotice: plan.accelNotice,
        startedAt: running,
      });
      this.set({ state: plan.paused ? 'paused' : 'running', startedAt: running, savedAt: null });
    } catch (err) {
      // `starting` stays true: this exit belongs to the failed start, not to a crash.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode ? r(null) : child.once('exit', r),
      );
      this.child = null;
      this.qmp?.close();
      this.qmp = null;
      // QEMU removes its pid file when it ends; what is left is a killed QEMU's, unless another
      // QEMU holds it (one started around the start lock): that one's files stay.
      if ((await liveQemuPid(f.pidFile, this.id)) === null) await rm(f.pidFile, { force: true });
      await rm(f.runtimeState, { force: true });
      if (plan.tpm) await stopSwtpm(plan.tpm.pidFile);
      const tail = (await readTail(f.qemuLog, 2048)).trim().split('\n');
      const reason = lastQemuError(tail) ?? errorText(err);
      const saved = await readSavedState(f);
      const message =
        restoring && saved
          ? `QEMU could not resume the VM from its saved state: ${reason}. The saved state is ` +
            'kept: try again, or discard it (vivarium discard-state) to boot the VM fresh.'
          : `QEMU could not start the VM: ${reason}`;
      this.set({
        state: saved ? 'saved' : 'stopped',
        pid: null,
        lastError: message,
        savedAt: saved?.savedAt ?? null,
      });
      await this.logEvent(message);
      throw new VivariumError('QEMU_FAILED', message);
    }
  }

  pause(): Promise<VmRuntime> {
    return this.transition('running', 'pausing', 'paused', 'stop');
  }

  resume(): Promise<VmRuntime> {
    return this.transition('paused', 'resuming', 'running', 'cont');
  }

  private transition(
    from: VmState,
    via: VmState,
    to: VmState,
    command: string,
  ): Promise<VmRuntime> {
    return this.serialize(async () => {
      const now = await this.refreshNow();
      if (now.state === to) return this.current;
      if (now.state !== from) {
        throw new VivariumError(
          'BAD_STATE',
          `The VM is ${now.state}; it must be ${from} for that.`,
        );
      }
      const qmp = this.requireQmp();
      this.set({ state: via });
      try {
        await qmp.execute(command);
        if (this.runtime.state === via) this.set({ state: to });
      } catch (err) {
        if (this.runtime.state === via) this.set({ state: from });
        throw qmpFailure(command, err);
      }
      return this.current;
    });
  }

  reset(): Promise<VmRuntime> {
    return this.serialize(async () => {
      const now = await this.refreshNow();
      if (now.state !== 'running' && now.state !== 'paused') {
        throw new VivariumError('BAD_STATE', `The VM is ${now.state}; start it first.`);
      }
      await this.command('system_reset');
      return this.current;
    });
  }

  /**
   * Asks the guest to power off and waits; a guest that ignores it is left running. `viaAgent`
   * asks the guest agent first (true: it took the request); otherwise the ACPI power button.
   */
  shutdown(timeoutMs: number, viaAgent?: () => Promise<boolean>): Promise<ShutdownResult> {
    return this.serialize(async () => {
      const now = await this.refreshNow();
      if (!isLive(now.state)) return { stopped: true, canForce: false };
      if (now.state === 'paused') await this.command('cont');
      const previous: VmState = 'running';
      this.set({ state: 'stopping' });
      let via: ShutdownResult['via'] = 'acpi';
      try {
        if (viaAgent && (await viaAgent())) via = 'agent';
        else await this.command('system_powerdown');
      } catch (err) {
        this.set({ state: previous });
        throw err;
      }
      if (await this.waitForExit(timeoutMs)) return { stopped: true, canForce: false, via };
      if (this.expectingExit) {
        return { stopped: false, canForce: false, via, reason: 'A forced power-off took over.' };
      }
      if (this.runtime.state === 'stopping' && !this.sawShutdown) this.set({ state: previous });
      const seconds = Math.round(timeoutMs / 1000);
      return {
        stopped: false,
        canForce: true,
        via,
        reason:
          `The guest did not power off within ${seconds} s: it may be busy or ignore the ACPI ` +
          'power button. Wait and try again, or force a power-off (unsaved guest data is lost).',
      };
    });
  }

  /** Pulls the plug: QMP quit, then SIGKILL if QEMU does not go. */
  powerOff(): Promise<VmRuntime> {
    // Do not queue behind a shutdown that is waiting for the guest: that is what this overrides.
    if (isLive(this.runtime.state)) this.expectingExit = true;
    this.exits.emit('interrupt');
    return this.serialize(async () => {
      const now = await this.refreshNow().catch(() => this.current);
      if (!isLive(now.state)) return this.current;
      this.expectingExit = true;
      this.set({ state: 'stopping' });
      const pid = this.runtime.pid;
      try {
        if (this.qmp) await this.qmp.execute('quit', undefined, { timeoutMs: 3000 });
        else if (pid) process.kill(pid, 'SIGTERM');
      } catch {
        // QEMU may close the socket before answering quit.
      }
      if (!(await this.waitForExit(5000)) && pid && processAlive(pid)) {
        process.kill(pid, 'SIGKILL');
        await this.waitForExit(5000);
      }
      if (isLive(this.runtime.state)) await this.concludeExit(null, null, true);
      this.expectingExit = false;
      return this.current;
    });
  }

  /** The live QEMU's QMP events (migration, block jobs), until its connection ends. */
  watchQmp(listener: (event: QmpEvent) => void): () => void {
    return this.requireQmp().onEvent(listener);
  }

  /** A QMP command on the live VM (screendump, send-key, ...). */
  async command<T = unknown>(
    name: string,
    args?: Record<string, unknown>,
    timeoutMs?: number,
  ): Promise<T> {
    const qmp = this.requireQmp();
    try {
      return await qmp.execute<T>(name, args, timeoutMs ? { timeoutMs } : undefined);
    } catch (err) {
      throw qmpFailure(name, err);
    }
  }

  /**
   * A QMP job (snapshot-save, snapshot-load, snapshot-delete...) on the live VM, awaited to its
   * end and dismissed. A job that failed rejects with QMP_ERROR carrying QEMU's own words.
   */
  async runJob(
    command: string,
    args: Record<string, unknown> & { 'job-id': string },
    opts?: RunJobOptions,
  ): Promise<void> {
    const qmp = this.requireQmp();
    try {
      await qmp.runJob(command, args, opts);
    } catch (err) {
      if (err instanceof QmpError && err.errorClass === 'JobFailed') {
        throw new VivariumError('QMP_ERROR', err.desc);
      }
      throw qmpFailure(command, err);
    }
  }

  /**
   * Runs `work` (a snapshot save or load) with the VM shown as `saving` or `restoring`, then puts
   * the state back; when `work` failed, from what QEMU reports. A failed snapshot-load leaves QEMU
   * stopped in `restore-vm`: the VM is continued (and paused again if it was paused), so it is
   * never left in a state no button gets it out of. Call it inside serialize().
   */
  async during<T>(state: 'saving' | 'restoring', work: () => Promise<T>): Promise<T> {
    const before = this.runtime.state;
    if (before !== 'running' && before !== 'paused') {
      throw new VivariumError('BAD_STATE', `The VM is ${before}; it must be running or paused.`);
    }
    this.requireQmp();
    this.set({ state });
    let result: T;
    try {
      result = await work();
    } catch (err) {
      await this.settle(state, before);
      throw err;
    }
    // Success: QEMU put the VM back in the run state it had (a save or load restarts a running
    // guest and leaves a paused one paused), so no query is needed.
    if (this.runtime.state === state && this.attached) this.set({ state: before });
    return result;
  }

  /** After a failed save or load: ask QEMU where the VM is, and get it out of restore-vm. */
  private async settle(via: VmState, before: VmState): Promise<void> {
    const qmp = this.qmp;
    // QEMU ended meanwhile: the exit handling has set stopped or crashed (or will).
    if (this.runtime.state !== via || !qmp || qmp.closed) return;
    try {
      let { status } = await qmp.execute<{ status: string }>('query-status');
      if (status === 'restore-vm' || status === 'save-vm') {
        await qmp.execute('cont');
        if (before === 'paused') await qmp.execute('stop');
        ({ status } = await qmp.execute<{ status: string }>('query-status'));
      }
      if (this.runtime.state === via) this.set({ state: stateFromQmpStatus(status) });
    } catch {
      if (this.runtime.state === via && this.attached) this.set({ state: before });
    }
  }

  /**
   * Suspend to disk: `save` writes the memory and device state to the VM's saved-state file
   * (the VM shown as `saving`), then QEMU is told to quit and the VM is `saved`. When `save`
   * fails or is cancelled the guest goes on as it was (running or paused). A VM already saved is
   * left as it is (a second click, or another process that got there first).
   */
  suspend(save: (qmp: QmpClient, wasPaused: boolean) => Promise<void>): Promise<VmRuntime> {
    return this.serialize(async () => {
      const now = await this.refreshNow();
      if (isSaved(now.state)) return this.current;
      if (now.state !== 'running' && now.state !== 'paused') {
        throw new VivariumError(
          'BAD_STATE',
          `The VM is ${now.state}; it must be running or paused to be saved.`,
        );
      }
      const qmp = this.requireQmp();
      const before = now.state;
      this.set({ state: 'saving', lastError: null });
      try {
        await save(qmp, before === 'paused');
      } catch (err) {
        // BUSY: another process is saving it and this one touched nothing; its save decides.
        if (err instanceof VivariumError && err.code === 'BUSY')
          await this.settleToQemu(qmp, before);
        else await this.resumeAfterFailedSave(qmp, before);
        throw err;
      }
      await this.logEvent('saved to disk; quitting QEMU');
      this.expectingExit = true;
      const pid = this.runtime.pid;
      try {
        await qmp.execute('quit', undefined, { timeoutMs: 3000 });
      } catch {
        // QEMU may close the socket before answering quit.
      }
      if (!(await this.waitForExit(10_000)) && pid && processAlive(pid)) {
        process.kill(pid, 'SIGKILL');
        await this.waitForExit(5000);
      }
      if (isLive(this.runtime.state)) await this.concludeExit(null, null, true);
      this.expectingExit = false;
      return this.current;
    });
  }

  /** The state as QEMU reports it, after a save this process did not make. */
  private async settleToQemu(qmp: QmpClient, before: VmState): Promise<void> {
    const stillSaving = (): boolean => this.runtime.state === 'saving';
    try {
      const { status } = await qmp.execute<{ status: string }>('query-status');
      if (stillSaving()) this.set({ state: stateFromQmpStatus(status) });
    } catch {
      if (stillSaving() && this.attached) this.set({ state: before });
    }
  }

  /** A save that did not finish: the guest goes on as it was before it. */
  private async resumeAfterFailedSave(qmp: QmpClient, before: VmState): Promise<void> {
    // QEMU ended meanwhile: the exit handling has set the state (or will).
    const stillSaving = (): boolean => this.runtime.state === 'saving';
    if (!stillSaving() || qmp.closed) return;
    try {
      const { status } = await qmp.execute<{ status: string }>('query-status');
      const migration = await qmp.execute<{ status?: string }>('query-migrate');
      // Another process's save or migration under way decides about the guest, not this one.
      const othersAtWork = ['setup', 'active', 'device', 'pre-switchover', 'cancelling'].includes(
        migration.status ?? 'none',
      );
      // A migration that failed after completing (the file could not be kept) leaves QEMU in
      // postmigrate; a cancelled one puts the guest back as it found it (the save paused it).
      if (before === 'running' && status !== 'running' && !othersAtWork) {
        await qmp.execute('cont');
      }
      const after = await qmp.execute<{ status: string }>('query-status');
      if (stillSaving()) this.set({ state: stateFromQmpStatus(after.status) });
    } catch {
      if (stillSaving() && this.attached) this.set({ state: before });
    }
  }

  /**
   * Deletes the saved state: the next start boots fresh. Refused while QEMU runs (resuming or
   * saving uses the file); a VM with nothing saved is left as it is.
   */
  discardSavedState(): Promise<VmRuntime> {
    return this.serialize(async () => {
      const now = await this.refreshNow();
      if (isLive(now.state)) {
        throw new VivariumError(
          'BAD_STATE',
          `The VM is ${now.state}: only a VM saved to disk (not running) has a saved state to discard.`,
        );
      }
      await removeSavedState(this.files);
      await this.logEvent('saved state discarded');
      if (isSaved(now.state)) this.set({ state: 'stopped', savedAt: null, lastExit: null });
      return this.current;
    });
  }

  private requireQmp(): QmpClient {
    if (!this.qmp || this.qmp.closed) {
      throw new VivariumError('BAD_STATE', 'The VM is not running: start it first.');
    }
    return this.qmp;
  }

  /** The VM left the library (deleted here or by another process): refuse queued work. */
  retire(reason: string): void {
    this.retiredBecause = reason;
    this.detach();
  }

  /** Lets go of QEMU without stopping it (the app quits, VMs keep running). */
  detach(): void {
    this.detaching = true;
    this.qmp?.close();
    this.qmp = null;
    this.child?.removeAllListeners('exit');
    this.child = null;
  }

  // -------------------------------------------------------------------------------------------

  private async readPersisted(): Promise<PersistedRuntime | null> {
    try {
      return JSON.parse(await readFile(this.files.runtimeState, 'utf8')) as PersistedRuntime;
    } catch {
      return null;
    }
  }

  private async persist(state: PersistedRuntime): Promise<void> {
    await mkdir(this.files.dir, { recursive: true });
    await writeFile(this.files.runtimeState, JSON.stringify(state, null, 2));
  }
}

function emptyPersisted(): PersistedRuntime {
  return { lastExit: null, accel: null, accelNotice: null, startedAt: null };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function qmpFailure(command: string, err: unknown): VivariumError {
  if (err instanceof VivariumError) return err;
  if (err instanceof QmpClosedError) {
    return new VivariumError('QEMU_FAILED', `QEMU ended while running ${command}.`);
  }
  return new VivariumError('QMP_ERROR', `QEMU refused ${command}: ${errorText(err)}`);
}

/** QEMU prints "qemu-system-x86_64: <what went wrong>" on stderr before it exits. */
export function lastQemuError(lines: string[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] ?? '';
    const m = /qemu-system-[\w-]+: (.*)$/.exec(line);
    if (m?.[1]) return m[1];
  }
  return null;
}

/**
 * Waits while QEMU loads incoming state (`inmigrate`); it ends in `paused` (the argv's -S) or,
 * when the state does not load, QEMU exits (the abort signal) with its reason on stderr.
 */
async function waitWhileIncoming(qmp: QmpClient, exited: AbortSignal): Promise<void> {
  for (;;) {
    if (exited.aborted) throw new Error('QEMU ended while loading the saved state');
    const { status } = await qmp.execute<{ status: string }>('query-status');
    if (status !== 'inmigrate') return;
    await sleep(2);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

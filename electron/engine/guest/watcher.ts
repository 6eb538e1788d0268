/**
 * Watches running guests from outside: a guest with an SSH forward is ready when its sshd
 * answers through it (slirp accepts a TCP connection at once, so only the SSH banner counts); one
 * without, when its guest agent does. Then the agent's facts (OS, addresses) are asked now and
 * then. The app and the server (owner engines) poll; a CLI command looks once.
 */
import type { GuestAgentInfo, GuestStatus, VmState } from '../../../common/contract';
import type { EngineRole } from '../qemu/supervisor';
import type { Vm } from '../library/vm';
import { agentAnswered, readGuestState, writeGuestState, type GuestState } from './guest-state';
import { connectAddress, guestSsh, sshForward } from './ssh-access';
import { agentFacts, agentAnswers } from './agent-facts';
import { sshBanner } from '../ssh/probe';

/** Until ready: how often to knock; a guest silent for long (no agent installed) less often. */
const PROBE_INTERVAL_MS = 1000;
const SLOW_PROBE_AFTER_MS = 180_000;
const SLOW_PROBE_INTERVAL_MS = 10_000;
const PROBE_TIMEOUT_MS = 1500;
/** Once ready: how often to ask the agent again (addresses change with DHCP). */
const AGENT_INTERVAL_MS = 15_000;
/** Ready but the agent has not answered yet: it often starts after sshd. */
const AGENT_FIRST_INTERVAL_MS = 2000;

function watched(vm: Vm): boolean {
  return sshForward(vm.config) !== null || vm.config.guestAgent;
}

export class GuestWatcher {
  private readonly loops = new Map<string, { startedAt: string; stop: AbortController }>();

  constructor(private readonly role: EngineRole) {}

  /** Keeps a VM's watch in step with its state (called on every change the engine announces). */
  track(vm: Vm): void {
    if (!watched(vm)) {
      this.end(vm.id);
      vm.setGuest(null);
      return;
    }
    const runtime = vm.supervisor.current;
    const startedAt = runtime.startedAt;
    const loop = this.loops.get(vm.id);
    if (!isUp(runtime.state) || !startedAt) {
      this.end(vm.id);
      vm.setGuest(offStatus(vm));
      return;
    }
    if (loop?.startedAt === startedAt) return;
    this.end(vm.id);
    if (this.role !== 'owner') return;
    const stop = new AbortController();
    this.loops.set(vm.id, { startedAt, stop });
    void this.watch(vm, startedAt, stop.signal);
  }

  /** A CLI command's look: what any process learnt for this start, else one knock now. */
  async look(vm: Vm): Promise<void> {
    if (!watched(vm)) return vm.setGuest(null);
    const runtime = vm.supervisor.current;
    if (!isUp(runtime.state) || !runtime.startedAt) return vm.setGuest(offStatus(vm));
    let state = (await readGuestState(vm.files, runtime.startedAt)) ?? fresh(runtime.startedAt);
    if (!state.readyAt) {
      const via = await this.knock(vm);
      if (via) {
        state = { ...state, readyAt: new Date().toISOString(), via };
        await writeGuestState(vm.files, state);
      }
    }
    vm.setGuest(statusOf(vm, state));
  }

  /** Whether the guest agent answered since the VM's current start (it is running in the guest). */
  agentKnown(vm: Vm): Promise<boolean> {
    return agentAnswered(vm.files, vm.config, vm.supervisor.current.startedAt);
  }

  /** Ends every watch (the engine closes). */
  close(): void {
    for (const id of [...this.loops.keys()]) this.end(id);
  }

  private end(id: string): void {
    this.loops.get(id)?.stop.abort();
    this.loops.delete(id);
  }

  private async watch(vm: Vm, startedAt: string, signal: AbortSignal): Promise<void> {
    let state = (await readGuestState(vm.files, startedAt)) ?? fresh(startedAt);
    let agentAskedAt = 0;
    // A function, not the property: TypeScript would narrow it to false across the awaits.
    const stopped = (): boolean => signal.aborted;
    vm.setGuest(statusOf(vm, state));
    while (!stopped()) {
      if (!state.readyAt) {
        const via = await this.knock(vm);
        if (stopped()) break;
        if (via) {
          // Another process may have seen it first: its time stands.
          const seen = await readGuestState(vm.files, startedAt);
          state = seen?.readyAt ? seen : { ...state, readyAt: new Date().toISOString(), via };
          await writeGuestState(vm.files, state);
          vm.setGuest(statusOf(vm, state));
        }
      }
      const agentDue =
        state.readyAt !== null &&
        vm.config.guestAgent &&
        Date.now() - agentAskedAt >= (state.agent ? AGENT_INTERVAL_MS : AGENT_FIRST_INTERVAL_MS);
      if (agentDue) {
        agentAskedAt = Date.now();
        const facts = await agentFacts(vm.files.qgaSock).catch(() => null);
        if (stopped()) break;
        if (facts) {
          state = { ...state, agent: facts };
          await writeGuestState(vm.files, state);
          vm.setGuest(statusOf(vm, state));
        }
      }
      const silentFor = Date.now() - Date.parse(startedAt);
      const knock = silentFor > SLOW_PROBE_AFTER_MS ? SLOW_PROBE_INTERVAL_MS : PROBE_INTERVAL_MS;
      await sleep(state.readyAt ? AGENT_FIRST_INTERVAL_MS : knock, signal);
    }
  }

  /** One knock: SSH through the forward when there is one, else the agent. */
  private async knock(vm: Vm): Promise<'ssh' | 'agent' | null> {
    const forward = sshForward(vm.config);
    if (forward) {
      const banner = await sshBanner(connectAddress(forward), forward.hostPort, PROBE_TIMEOUT_MS);
      return banner ? 'ssh' : null;
    }
    if (vm.config.guestAgent && (await agentAnswers(vm.files.qgaSock, PROBE_TIMEOUT_MS))) {
      return 'agent';
    }
    return null;
  }
}

function isUp(state: VmState): boolean {
  return state === 'running' || state === 'paused';
}

function fresh(startedAt: string): GuestState {
  return { startedAt, readyAt: null, via: null, agent: null };
}

function offStatus(vm: Vm): GuestStatus {
  return {
    ready: false,
    readyAt: null,
    readySeconds: null,
    via: null,
    ssh: guestSsh(vm.config, vm.files),
    agent: null,
  };
}

function statusOf(vm: Vm, state: GuestState): GuestStatus {
  const seconds = state.readyAt
    ? Math.max(0, Math.round((Date.parse(state.readyAt) - Date.parse(state.startedAt)) / 1000))
    : null;
  return {
    ready: state.readyAt !== null,
    readyAt: state.readyAt,
    readySeconds: seconds,
    via: state.via,
    ssh: guestSsh(vm.config, vm.files),
    agent: state.agent satisfies GuestAgentInfo | null,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

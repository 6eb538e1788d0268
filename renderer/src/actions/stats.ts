import type { ApiEvent, VmCommandLine } from '../../../common/contract';
import { appendSample, emptyHistory, mergeHistories } from '../../../common/stats-history';
import { getBridge, toApiError } from '../bridge';
import { useStatsStore } from '../stores/stats';
import { outcome, type Outcome } from './outcome';

type SampleEvent = Extract<ApiEvent, { type: 'stats.sample' }>;

/**
 * One subscription for the whole page, held while any view that shows figures is open (the
 * engine samples every VM on one timer anyway; the subscription only says someone is looking).
 * It is renewed well within its lease, so a page that vanishes stops costing the host PSS walks.
 */
let holders = 0;
let subscription: string | null = null;
let renewTimer: ReturnType<typeof setInterval> | undefined;
let releaseTimer: ReturnType<typeof setTimeout> | undefined;

export function holdStats(): () => void {
  holders++;
  clearTimeout(releaseTimer);
  if (holders === 1 && renewTimer === undefined) {
    void renew();
    if (useStatsStore.getState().host === null) void loadHostStats();
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders--;
    // Going from one view to another releases and takes again at once: no churn for that.
    if (holders === 0) releaseTimer = setTimeout(stop, 1500);
  };
}

async function renew(): Promise<void> {
  try {
    const sub = await getBridge().call('stats.subscribe', subscription ? { subscription } : {});
    subscription = sub.subscription;
    if (renewTimer === undefined && holders > 0) {
      renewTimer = setInterval(() => void renew(), Math.max(1000, sub.leaseMs / 3));
    }
    if (useStatsStore.getState().error) useStatsStore.setState({ error: null });
  } catch (err) {
    // The next renewal tries again (the connection may be coming back).
    useStatsStore.setState({ error: toApiError(err).message });
    if (renewTimer === undefined && holders > 0) renewTimer = setInterval(() => void renew(), 5000);
  }
}

function stop(): void {
  if (holders > 0) return;
  clearInterval(renewTimer);
  renewTimer = undefined;
  const id = subscription;
  subscription = null;
  if (id)
    void getBridge()
      .call('stats.unsubscribe', { subscription: id })
      .catch(() => undefined);
}

async function loadHostStats(): Promise<void> {
  try {
    const host = await getBridge().call('stats.host', {});
    useStatsStore.setState((s) => (s.host && s.host.t >= host.t ? s : { host }));
  } catch (err) {
    useStatsStore.setState({ error: toApiError(err).message });
  }
}

/** The engine's last `seconds` of a VM, then kept current by the samples. */
export async function loadStatsHistory(vmId: string, seconds: number): Promise<void> {
  try {
    const loaded = await getBridge().call('stats.history', { vm: vmId, seconds });
    useStatsStore.setState((s) => {
      const held = s.history[vmId];
      // Points held already (a longer window, samples that arrived meanwhile) stay.
      return { history: { ...s.history, [vmId]: held ? mergeHistories(held, loaded) : loaded } };
    });
  } catch {
    // Not fatal: the chart fills from the live samples.
  }
}

export function applyStatsSample(event: SampleEvent): void {
  useStatsStore.setState((s) => {
    const history = { ...s.history };
    const latest: Record<string, (typeof event.vms)[number]> = {};
    for (const sample of event.vms) {
      latest[sample.vmId] = sample;
      history[sample.vmId] = appendSample(
        history[sample.vmId] ?? emptyHistory(sample.vmId),
        sample,
      );
    }
    return { host: event.host, latest, history, error: null };
  });
}

export function setBalloon(vmId: string, targetMiB: number): Promise<Outcome<number>> {
  return outcome(
    getBridge()
      .call('vm.balloon', { vm: vmId, targetMiB })
      .then((res) => res.targetBytes),
  );
}

export function loadCommandLine(vmId: string): Promise<Outcome<VmCommandLine>> {
  return outcome(getBridge().call('vm.cmdline', { vm: vmId }));
}

import type {
  BridgeCheck,
  NetworkSummary,
  NicInfo,
  SshForwardResult,
} from '../../../common/contract';
import { getBridge, toApiError } from '../bridge';
import type { CardPatch, ForwardRequest } from '../lib/network-drafts';
import { upsertNetwork, useNetworksStore } from '../stores/networks';
import { notify } from './notifications';

import { outcome, type Outcome } from './outcome';
export type { Outcome } from './outcome';

let listSeq = 0;

/** Asks for the networks (the newest request wins); events keep the list current after. */
export async function loadNetworks(): Promise<void> {
  const seq = ++listSeq;
  useNetworksStore.setState((s) => (s.list ? {} : { status: 'loading' }));
  try {
    const list = await getBridge().call('network.list', {});
    if (seq !== listSeq) return;
    useNetworksStore.setState({
      list: [...list].sort((a, b) => a.config.name.localeCompare(b.config.name)),
      status: 'ready',
      error: null,
    });
  } catch (err) {
    if (seq !== listSeq) return;
    const message = toApiError(err).message;
    useNetworksStore.setState((s) =>
      s.list ? { error: message } : { status: 'error', error: message },
    );
  }
}

/** `network.changed` / `network.removed`: the list follows; open VMs' cards are re-read. */
export function applyNetworkEvent(
  event:
    { type: 'network.changed'; network: NetworkSummary } | { type: 'network.removed'; id: string },
): void {
  // A newer answer than any network.list in flight: that one must not overwrite it.
  listSeq++;
  const before = useNetworksStore.getState().list;
  if (event.type === 'network.changed') {
    useNetworksStore.setState((s) => ({
      list: upsertNetwork(s.list, event.network),
      status: 'ready',
    }));
  } else {
    useNetworksStore.setState((s) => ({
      list: (s.list ?? []).filter((n) => n.config.id !== event.id),
      status: 'ready',
    }));
  }
  // Members' addresses, problems and forwards depend on the network: refresh the cards shown.
  const name =
    event.type === 'network.changed'
      ? event.network.config.name
      : before?.find((n) => n.config.id === event.id)?.config.name;
  for (const [vmId, nics] of Object.entries(useNetworksStore.getState().nicsByVm)) {
    const onIt = nics.list?.some(
      (n) =>
        n.config.attach.kind === 'network' &&
        (n.config.attach.network === name ||
          (event.type === 'network.changed' && event.network.members.some((m) => m.vmId === vmId))),
    );
    if (onIt) void loadNics(vmId);
  }
}

function setNics(vmId: string, list: NicInfo[] | null, error: string | null): void {
  useNetworksStore.setState((s) => {
    const prev = s.nicsByVm[vmId];
    return {
      nicsByVm: { ...s.nicsByVm, [vmId]: { list: list ?? prev?.list ?? null, error } },
    };
  });
}

const nicSeq = new Map<string, number>();

/** Asks for a VM's cards with their addresses, forwards and problems. */
export async function loadNics(vmId: string): Promise<void> {
  const seq = (nicSeq.get(vmId) ?? 0) + 1;
  nicSeq.set(vmId, seq);
  try {
    const list = await getBridge().call('nic.list', { vm: vmId });
    if (nicSeq.get(vmId) === seq) setNics(vmId, list, null);
  } catch (err) {
    if (nicSeq.get(vmId) === seq) setNics(vmId, null, toApiError(err).message);
  }
}

/** Runs a card change; the answer is the VM's cards as they are now. */
async function changeNics(vmId: string, p: Promise<NicInfo[]>): Promise<Outcome<NicInfo[]>> {
  nicSeq.set(vmId, (nicSeq.get(vmId) ?? 0) + 1);
  const result = await outcome(p);
  if (result.ok) setNics(vmId, result.value, null);
  return result;
}

export function addNic(vmId: string): Promise<Outcome<NicInfo[]>> {
  return changeNics(vmId, getBridge().call('nic.add', { vm: vmId, nic: {} }));
}

export function updateNic(
  vmId: string,
  index: number,
  patch: CardPatch,
): Promise<Outcome<NicInfo[]>> {
  return changeNics(vmId, getBridge().call('nic.update', { vm: vmId, index, patch }));
}

export function removeNic(vmId: string, index: number): Promise<Outcome<NicInfo[]>> {
  return changeNics(vmId, getBridge().call('nic.remove', { vm: vmId, index }));
}

export async function addForward(
  vmId: string,
  nic: number,
  req: ForwardRequest,
): Promise<Outcome<unknown>> {
  const result = await outcome(getBridge().call('forward.add', { vm: vmId, nic, ...req }));
  void loadNics(vmId);
  return result;
}

export async function removeForward(
  vmId: string,
  nic: number,
  protocol: 'tcp' | 'udp',
  hostPort: number,
): Promise<Outcome<unknown>> {
  const result = await outcome(
    getBridge().call('forward.remove', { vm: vmId, nic, protocol, hostPort }),
  );
  void loadNics(vmId);
  return result;
}

export async function forwardSsh(vmId: string, nic: number): Promise<Outcome<SshForwardResult>> {
  const result = await outcome(getBridge().call('forward.ssh', { vm: vmId, nic }));
  void loadNics(vmId);
  return result;
}

export function checkBridge(bridge: string): Promise<Outcome<BridgeCheck>> {
  return outcome(getBridge().call('network.bridgeCheck', { bridge }));
}

export async function createNetwork(req: {
  name: string;
  subnet?: string;
  dhcp: boolean;
  nat: boolean;
}): Promise<Outcome<NetworkSummary>> {
  const result = await outcome(getBridge().call('network.create', req));
  if (result.ok) applyNetworkEvent({ type: 'network.changed', network: result.value });
  return result;
}

export async function updateNetwork(
  network: string,
  patch: { name?: string; subnet?: string; dhcp?: boolean; nat?: boolean },
): Promise<Outcome<NetworkSummary>> {
  const result = await outcome(getBridge().call('network.update', { network, patch }));
  if (result.ok) applyNetworkEvent({ type: 'network.changed', network: result.value });
  return result;
}

/** Deletes a network; `detach` unplugs the cards of stopped VMs on it first. */
export async function deleteNetwork(n: NetworkSummary, detach: boolean): Promise<Outcome<unknown>> {
  const result = await outcome(
    getBridge().call('network.delete', { network: n.config.id, detach }),
  );
  if (result.ok) {
    applyNetworkEvent({ type: 'network.removed', id: n.config.id });
    const unplugged = result.value.detached;
    if (unplugged.length > 0) {
      notify(
        {
          kind: 'info',
          title: `Deleted network “${n.config.name}”`,
          message: `Unplugged ${unplugged.map((d) => `${d.vmName} card ${d.nic + 1}`).join(', ')}.`,
        },
        6000,
      );
    }
  }
  return result;
}

/**
 * What the Network tab and the Networks page type into their forms, checked with the rules from
 * common before anything reaches the engine, and turned into requests. Pure: no DOM, no stores.
 */
import type { NetworkSummary, NicInfo, ForwardInfo } from '../../../common/contract';
import type { NicAttachment, NicConfig } from '../../../common/contract/vm-config';
import {
  bridgeNameProblem,
  freeSubnet,
  ipv4ToNumber,
  macFromBytes,
  macProblem,
  networkNameProblem,
  normalizeMac,
  parseSubnet,
  subnetsOverlap,
  type AttachmentKind,
} from '../../../common/rules/networks';
import { isLoopbackAddress } from '../../../common/rules/port-forwards';
import { NIC_MODEL_LABELS as NIC_LABELS } from '../../../common/labels';
import { NICS_NEED_STOP, savedRefusalMessage } from '../../../common/rules/vm-settings';
import { isOff, isSaved, type VmState } from '../../../common/vm-state';

export type NicModel = NicConfig['model'];

/** Each model's name in the picker and the one line under it: which guests have its driver. */
export const NIC_MODEL_LABELS: Record<NicModel, { name: string; help: string }> = {
  'virtio-net-pci': {
    name: NIC_LABELS['virtio-net-pci'],
    help: 'Fastest. Linux and BSD have the driver; Windows needs the virtio-win drivers.',
  },
  e1000: {
    name: NIC_LABELS.e1000,
    help: 'Works without extra drivers in most systems, Windows XP and later included.',
  },
  e1000e: { name: NIC_LABELS.e1000e, help: 'For Windows 8 and later and current Linux.' },
  rtl8139: { name: NIC_LABELS.rtl8139, help: 'For old systems: Windows 98 to 2000, old Linux.' },
  ne2k_pci: { name: NIC_LABELS.ne2k_pci, help: 'For DOS and the oldest systems.' },
  pcnet: { name: NIC_LABELS.pcnet, help: 'For old systems: Windows 95 to 2000, old BSD.' },
};

/** The models in the picker's order (the contract's, which the record above must cover). */
export const NIC_MODELS = Object.keys(NIC_MODEL_LABELS) as NicModel[];

/** The picker's names for the modes, in VirtualBox's order of how open the guest is. */
export const ATTACHMENT_LABELS: Record<AttachmentKind, string> = {
  nat: 'NAT',
  network: 'Private network',
  bridge: 'Bridged',
  none: 'Not connected',
};

/** A card as a short phrase: `NAT`, `Private network “lab”`, `Bridged to br0`, `Not connected`. */
export function attachmentSummary(a: NicAttachment): string {
  switch (a.kind) {
    case 'nat':
      return a.internet ? 'NAT' : 'NAT (no internet)';
    case 'network':
      return `Private network “${a.network}”`;
    case 'bridge':
      return `Bridged to ${a.bridge}`;
    case 'none':
      return 'Not connected';
  }
}

/** Why the cards of a VM cannot change now (the engine's rule and words), or null while it is off. */
export function cardsLockedReason(state: VmState): string | null {
  if (isSaved(state)) return savedRefusalMessage('nics');
  return isOff(state) ? null : NICS_NEED_STOP;
}

/**
 * Whether a card takes port forwards: its own NAT, or a private network with NAT on (where the
 * forward goes to one guest address on it).
 */
export function forwardsApply(
  nic: NicConfig,
  networks: readonly NetworkSummary[] | null,
): 'nat' | 'network' | null {
  if (nic.attach.kind === 'nat') return 'nat';
  if (nic.attach.kind === 'network') {
    const name = nic.attach.network;
    const net = networks?.find((n) => n.config.name === name);
    return net?.config.nat ? 'network' : null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// A card

export interface CardDraft {
  model: NicModel;
  mac: string;
  kind: AttachmentKind;
  /** The private network's name (kind 'network'). */
  network: string;
  /** The host bridge (kind 'bridge'). */
  bridge: string;
  /** Kind 'nat': whether the guest may reach the host's networks (off: only forwards come in). */
  internet: boolean;
}

export type CardErrors = Partial<Record<'mac' | 'network' | 'bridge', string>>;

export function cardDraft(nic: NicConfig): CardDraft {
  return {
    model: nic.model,
    mac: nic.mac,
    kind: nic.attach.kind,
    network: nic.attach.kind === 'network' ? nic.attach.network : '',
    bridge: nic.attach.kind === 'bridge' ? nic.attach.bridge : '',
    internet: nic.attach.kind === 'nat' ? nic.attach.internet : true,
  };
}

/** The problems of a card's draft; `otherMacs` are the VM's other cards' addresses. */
export function cardErrors(draft: CardDraft, otherMacs: readonly string[]): CardErrors {
  const errors: CardErrors = {};
  const mac = macProblem(draft.mac);
  if (mac) errors.mac = mac;
  else if (otherMacs.some((m) => normalizeMac(m) === normalizeMac(draft.mac))) {
    errors.mac = `Another card of this VM has ${normalizeMac(draft.mac)}: give each card its own`;
  }
  if (draft.kind === 'network') {
    if (draft.network === '') errors.network = 'Choose the private network (or create one first)';
    else {
      const problem = networkNameProblem(draft.network);
      if (problem) errors.network = problem;
    }
  }
  if (draft.kind === 'bridge') {
    if (draft.bridge.trim() === '') errors.bridge = 'Name the host bridge, like br0';
    else {
      const problem = bridgeNameProblem(draft.bridge.trim());
      if (problem) errors.bridge = problem;
    }
  }
  return errors;
}

/**
 * A new address for the MAC field: QEMU's prefix with random bytes from `random`, never one in
 * `taken` (the engine still checks the whole library when the card is saved).
 */
export function generateMac(random: () => readonly number[], taken: readonly string[]): string {
  const used = new Set(taken.map(normalizeMac));
  for (let i = 0; i < 64; i++) {
    const mac = macFromBytes(random());
    if (!used.has(mac)) return mac;
  }
  throw new Error('No free MAC address came out of 64 tries: the random source repeats itself');
}

/** The attachment a draft asks for; a NAT card that stays NAT keeps its forwards. */
export function draftAttachment(draft: CardDraft, current: NicAttachment): NicAttachment {
  switch (draft.kind) {
    case 'nat':
      return current.kind === 'nat'
        ? { ...current, internet: draft.internet }
        : { kind: 'nat', forwards: [], internet: draft.internet };
    case 'network':
      return { kind: 'network', network: draft.network };
    case 'bridge':
      return { kind: 'bridge', bridge: draft.bridge.trim() };
    case 'none':
      return { kind: 'none' };
  }
}

function sameAttachment(a: NicAttachment, b: NicAttachment): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'network' && b.kind === 'network') return a.network === b.network;
  if (a.kind === 'bridge' && b.kind === 'bridge') return a.bridge === b.bridge;
  if (a.kind === 'nat' && b.kind === 'nat') return a.internet === b.internet;
  return true;
}

export interface CardPatch {
  model?: NicModel;
  mac?: string;
  attach?: NicAttachment;
}

/** Only what changed (nic.update's patch), or null when the draft is the card as it is. */
export function cardPatch(draft: CardDraft, nic: NicConfig): CardPatch | null {
  const patch: CardPatch = {};
  if (draft.model !== nic.model) patch.model = draft.model;
  if (normalizeMac(draft.mac) !== nic.mac) patch.mac = normalizeMac(draft.mac);
  const attach = draftAttachment(draft, nic.attach);
  if (!sameAttachment(attach, nic.attach)) patch.attach = attach;
  return Object.keys(patch).length > 0 ? patch : null;
}

// ---------------------------------------------------------------------------------------------
// A forward

export interface ForwardDraft {
  protocol: 'tcp' | 'udp';
  hostAddress: string;
  hostPort: string;
  /** Only on a NAT network: which guest on it (empty: the address the VM's agent reports). */
  guestAddress: string;
  guestPort: string;
  /** The explicit yes to a host address other computers can reach. */
  public: boolean;
}

export type ForwardErrors = Partial<
  Record<'hostAddress' | 'hostPort' | 'guestAddress' | 'guestPort' | 'public', string>
>;

export function emptyForwardDraft(): ForwardDraft {
  return {
    protocol: 'tcp',
    hostAddress: '127.0.0.1',
    hostPort: '',
    guestAddress: '',
    guestPort: '',
    public: false,
  };
}

function portProblem(value: string, what: 'host' | 'guest'): string | null {
  const s = value.trim();
  if (s === '') return `Enter the ${what} port`;
  if (!/^\d{1,5}$/.test(s)) return `The ${what} port is a number from 1 to 65535`;
  const n = Number(s);
  if (n < 1 || n > 65535) return `The ${what} port ${n} is out of range: use 1 to 65535`;
  return null;
}

/** Whether the host address lets other computers in (then the draft needs `public`). */
export function forwardIsExposed(draft: ForwardDraft): boolean {
  const a = draft.hostAddress.trim();
  return a !== '' && !isLoopbackAddress(a);
}

/**
 * The problems of a forward before it is sent; `taken` are the forwards the card (or the library,
 * as far as the page knows) already has: two on one protocol and host port clash.
 */
export function forwardErrors(
  draft: ForwardDraft,
  taken: readonly Pick<ForwardInfo, 'protocol' | 'hostPort'>[],
  onNetwork: boolean,
): ForwardErrors {
  const errors: ForwardErrors = {};
  const address = draft.hostAddress.trim();
  if (address !== '' && ipv4ToNumber(address) === null) {
    errors.hostAddress = `"${address}" is not an IPv4 address, like 127.0.0.1`;
  } else if (forwardIsExposed(draft) && !draft.public) {
    errors.public = `${address} is reachable from other computers: tick the box to allow that, or use 127.0.0.1`;
  }
  const host = portProblem(draft.hostPort, 'host');
  if (host) errors.hostPort = host;
  else {
    const port = Number(draft.hostPort.trim());
    if (taken.some((f) => f.protocol === draft.protocol && f.hostPort === port)) {
      errors.hostPort = `${draft.protocol.toUpperCase()} port ${port} is already forwarded: pick another host port`;
    }
  }
  const guest = portProblem(draft.guestPort, 'guest');
  if (guest) errors.guestPort = guest;
  if (onNetwork && draft.guestAddress.trim() !== '') {
    if (ipv4ToNumber(draft.guestAddress.trim()) === null) {
      errors.guestAddress = `"${draft.guestAddress.trim()}" is not an IPv4 address on the network`;
    }
  }
  return errors;
}

export interface ForwardRequest {
  forward: {
    protocol: 'tcp' | 'udp';
    hostAddress: string;
    hostPort: number;
    guestPort: number;
    public?: boolean;
  };
  guestAddress?: string;
}

/** The forward.add fields of a draft without errors. */
export function forwardRequest(draft: ForwardDraft, onNetwork: boolean): ForwardRequest {
  const hostAddress = draft.hostAddress.trim() || '127.0.0.1';
  const exposed = !isLoopbackAddress(hostAddress);
  const guestAddress = draft.guestAddress.trim();
  return {
    forward: {
      protocol: draft.protocol,
      hostAddress,
      hostPort: Number(draft.hostPort.trim()),
      guestPort: Number(draft.guestPort.trim()),
      ...(exposed ? { public: true } : {}),
    },
    ...(onNetwork && guestAddress !== '' ? { guestAddress } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// A network

export interface NetworkDraft {
  name: string;
  /** Empty: the engine picks a free /24. */
  subnet: string;
  dhcp: boolean;
  nat: boolean;
}

export type NetworkErrors = Partial<Record<'name' | 'subnet', string>>;

/** A new network's form, its subnet filled in with the first one no other network overlaps. */
export function emptyNetworkDraft(networks: readonly NetworkSummary[] = []): NetworkDraft {
  return { name: '', subnet: suggestedSubnet(networks), dhcp: true, nat: false };
}

/** The first free /24 in 10.13.0.0/16 (the engine's own default) given the networks there are. */
export function suggestedSubnet(networks: readonly NetworkSummary[]): string {
  const taken = networks.flatMap((n) => {
    const parsed = parseSubnet(n.config.subnet);
    return parsed.ok ? [parsed.value] : [];
  });
  return freeSubnet(taken);
}

export function networkDraft(n: NetworkSummary): NetworkDraft {
  return { name: n.config.name, subnet: n.config.subnet, dhcp: n.config.dhcp, nat: n.config.nat };
}

/** The problems of a network's draft against the others (`editing`: the id being edited). */
export function networkErrors(
  draft: NetworkDraft,
  networks: readonly NetworkSummary[],
  editing: string | null,
): NetworkErrors {
  const errors: NetworkErrors = {};
  const others = networks.filter((n) => n.config.id !== editing);
  const name = draft.name.trim();
  const nameProblem = networkNameProblem(name);
  if (nameProblem) errors.name = nameProblem;
  else if (others.some((n) => n.config.name === name)) {
    errors.name = `There is a network called “${name}” already: pick another name`;
  }
  const subnet = draft.subnet.trim();
  if (subnet !== '') {
    const parsed = parseSubnet(subnet);
    if (!parsed.ok) errors.subnet = parsed.message;
    else {
      const clash = others.find((n) => {
        const o = parseSubnet(n.config.subnet);
        return o.ok && subnetsOverlap(o.value, parsed.value);
      });
      if (clash) {
        errors.subnet = `${parsed.value.cidr} overlaps “${clash.config.name}” (${clash.config.subnet}): pick another subnet or leave it empty`;
      }
    }
  }
  return errors;
}

/** network.create's fields (an empty subnet is left to the engine). */
export function createNetworkRequest(draft: NetworkDraft): {
  name: string;
  subnet?: string;
  dhcp: boolean;
  nat: boolean;
} {
  const subnet = draft.subnet.trim();
  return {
    name: draft.name.trim(),
    ...(subnet !== '' ? { subnet } : {}),
    dhcp: draft.dhcp,
    nat: draft.nat,
  };
}

/** network.update's patch: only what changed, or null. */
export function updateNetworkPatch(
  draft: NetworkDraft,
  n: NetworkSummary,
): Partial<NetworkDraft> | null {
  const patch: Partial<NetworkDraft> = {};
  if (draft.name.trim() !== n.config.name) patch.name = draft.name.trim();
  const subnet = draft.subnet.trim();
  if (subnet !== '' && subnet !== n.config.subnet) patch.subnet = subnet;
  if (draft.dhcp !== n.config.dhcp) patch.dhcp = draft.dhcp;
  if (draft.nat !== n.config.nat) patch.nat = draft.nat;
  return Object.keys(patch).length > 0 ? patch : null;
}

/** The addresses a page can show for a card: the engine's, else none known. */
export function nicAddresses(info: NicInfo | undefined): string[] {
  return info?.addresses ?? [];
}

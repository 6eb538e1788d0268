/**
 * Networks and network cards: the words, limits and input rules that the engine decides and the
 * Settings view, the Networks page and the CLI show. Pure: no DOM, no Node.
 */

/** QEMU can wire more, but four cards cover a router between two networks plus NAT. */
export const NIC_MAX = 4;

/** How a card is attached; VirtualBox's five modes map onto these (see ATTACHMENT_HELP). */
export const ATTACHMENT_KINDS = ['nat', 'network', 'bridge', 'none'] as const;
export type AttachmentKind = (typeof ATTACHMENT_KINDS)[number];

export type NicAttachmentSpec =
  | { kind: 'nat' }
  | { kind: 'network'; network: string }
  | { kind: 'bridge'; bridge: string }
  | { kind: 'none' };

/** One line per mode: who can reach whom (what VirtualBox's networking table says). */
export const ATTACHMENT_HELP: Record<AttachmentKind, string> = {
  nat: 'NAT: the guest reaches the internet and this computer; nothing reaches the guest but its port forwards.',
  network:
    'Private network: the guest sees the other VMs on the same network and nothing else (with NAT on, the internet too).',
  bridge:
    'Bridged: the guest is a machine on your LAN, reachable by every computer there (needs a host bridge).',
  none: 'Not connected: the card is there but no cable is plugged in.',
};

/** What a network's options mean, for the Networks page and `network create --help`. */
export const NETWORK_OPTION_HELP = {
  dhcp: 'DHCP: guests get an address in the subnet automatically (.15 to .30 of a /24).',
  nat: 'NAT: guests on the network reach the internet and this computer, and forwards reach them (VirtualBox’s “NAT network”). Off: an internal network, closed to the outside.',
} as const;

/** Names of networks and bridges: short, no commas or slashes (they land in paths and QEMU options). */
export function networkNameProblem(name: string): string | null {
  if (name.length === 0) return 'Give the network a name';
  if (name.length > 32) return 'Keep network names to 32 characters';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    return 'A network name uses letters, digits, ".", "_" and "-" (no spaces, commas or slashes), starting with a letter or digit';
  }
  return null;
}

/** Linux interface names: at most 15 bytes, no slash, colon, comma or whitespace. */
export function bridgeNameProblem(name: string): string | null {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) {
    return `"${name}" is not a bridge name: up to 15 letters, digits, ".", "_" or "-"`;
  }
  return null;
}

/**
 * Parses `nat`, `network:NAME`, `bridge:BR` or `none` (the CLI's --network/--attach and the
 * request field). `user` is accepted for NAT: it is QEMU's name and older configs' word.
 */
export function parseAttachment(
  spec: string,
): { ok: true; value: NicAttachmentSpec } | { ok: false; message: string } {
  const s = spec.trim();
  if (s === 'nat' || s === 'user') return { ok: true, value: { kind: 'nat' } };
  if (s === 'none') return { ok: true, value: { kind: 'none' } };
  const m = /^(network|bridge):(.*)$/.exec(s);
  if (m?.[1] === 'network') {
    const problem = networkNameProblem(m[2] ?? '');
    return problem
      ? { ok: false, message: problem }
      : { ok: true, value: { kind: 'network', network: m[2] ?? '' } };
  }
  if (m?.[1] === 'bridge') {
    const problem = bridgeNameProblem(m[2] ?? '');
    return problem
      ? { ok: false, message: problem }
      : { ok: true, value: { kind: 'bridge', bridge: m[2] ?? '' } };
  }
  return {
    ok: false,
    message: `"${spec}" is not an attachment: use nat, network:NAME, bridge:BRIDGE or none`,
  };
}

export function formatAttachment(a: NicAttachmentSpec): string {
  switch (a.kind) {
    case 'network':
      return `network:${a.network}`;
    case 'bridge':
      return `bridge:${a.bridge}`;
    default:
      return a.kind;
  }
}

// ---------------------------------------------------------------------------------------------
// MAC addresses

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Normalizes `52-54-00-AB-CD-EF` and upper case to `52:54:00:ab:cd:ef`. */
export function normalizeMac(mac: string): string {
  return mac.trim().toLowerCase().replace(/-/g, ':');
}

/** Why a MAC cannot be a card's own address, or null. */
export function macProblem(mac: string): string | null {
  const m = normalizeMac(mac);
  if (!MAC_RE.test(m))
    return `"${mac}" is not a MAC address: six hex pairs, like 52:54:00:12:34:56`;
  const first = parseInt(m.slice(0, 2), 16);
  if (first & 1) return `${m} is a multicast address: a card needs a unicast one (even first byte)`;
  if (m === '00:00:00:00:00:00') return 'The all-zero MAC address is not a card’s address';
  return null;
}

/** QEMU's own prefix (52:54:00, locally administered) with three bytes from `bytes`. */
export function macFromBytes(bytes: readonly number[]): string {
  const tail = [0, 1, 2].map((i) => ((bytes[i] ?? 0) & 0xff).toString(16).padStart(2, '0'));
  return `52:54:00:${tail.join(':')}`;
}

/**
 * The MAC a VM's first card had before cards kept their own (it came from the VM's id), so a
 * guest keeps its interface name and DHCP lease across the upgrade.
 */
export function macFromVmId(id: string): string {
  const hex = id.padEnd(6, '0').slice(-6);
  return `52:54:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}

// ---------------------------------------------------------------------------------------------
// Subnets

export interface Subnet {
  /** Network address as a 32-bit unsigned number. */
  base: number;
  prefix: number;
  cidr: string;
}

export function ipv4ToNumber(ip: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return (
    (((parts[0] ?? 0) << 24) |
      ((parts[1] ?? 0) << 16) |
      ((parts[2] ?? 0) << 8) |
      (parts[3] ?? 0)) >>>
    0
  );
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
}

/** DHCP hands out .15 to .30 (QEMU's user-mode DHCP: 16 leases from the 15th address). */
export const DHCP_FIRST_HOST = 15;
export const DHCP_LEASES = 16;
/** The NAT's gateway and DNS addresses in the subnet (QEMU's user-mode network layout). */
export const GATEWAY_HOST = 2;
export const DNS_HOST = 3;
/** A NAT card's own network (QEMU's default) and the address its guest gets. */
export const NAT_SUBNET = '10.0.2.0/24';
export const NAT_GUEST_ADDRESS = '10.0.2.15';

export function parseSubnet(
  cidr: string,
): { ok: true; value: Subnet } | { ok: false; message: string } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  const ip = m ? ipv4ToNumber(m[1] ?? '') : null;
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || ip === null || !(prefix >= 8 && prefix <= 27)) {
    return {
      ok: false,
      message: `"${cidr}" is not a subnet Vivarium can use: write it as ADDRESS/PREFIX with a prefix from 8 to 27, like 10.13.5.0/24`,
    };
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const base = (ip & mask) >>> 0;
  if (base !== ip) {
    return {
      ok: false,
      message: `${cidr} has host bits set: the network is ${numberToIpv4(base)}/${prefix}`,
    };
  }
  const first = base >>> 24;
  if (first === 127 || first === 0 || first >= 224) {
    return {
      ok: false,
      message: `${cidr} is not a private subnet: use 10.x, 172.16-31.x or 192.168.x`,
    };
  }
  return { ok: true, value: { base, prefix, cidr: `${numberToIpv4(base)}/${prefix}` } };
}

export function subnetSize(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  const aEnd = a.base + subnetSize(a) - 1;
  const bEnd = b.base + subnetSize(b) - 1;
  return a.base <= bEnd && b.base <= aEnd;
}

export function subnetContains(s: Subnet, ip: string): boolean {
  const n = ipv4ToNumber(ip);
  return n !== null && n >= s.base && n < s.base + subnetSize(s);
}

/** The address `host` places into the subnet (2: the gateway, 15: the first DHCP lease). */
export function hostAddress(s: Subnet, host: number): string {
  return numberToIpv4(s.base + host);
}

/** The first /24 of 10.13.0.0/16 that overlaps none of `taken`, for a new network. */
export function freeSubnet(taken: readonly Subnet[]): string {
  for (let third = 1; third < 255; third++) {
    const candidate = parseSubnet(`10.13.${third}.0/24`);
    if (candidate.ok && !taken.some((t) => subnetsOverlap(t, candidate.value))) {
      return candidate.value.cidr;
    }
  }
  return '10.14.0.0/24';
}

// ---------------------------------------------------------------------------------------------
// Port forwards

export interface ForwardSpec {
  protocol: 'tcp' | 'udp';
  hostAddress: string;
  hostPort: number;
  /** Only on a private network with NAT: which guest on it (a NAT card has one guest). */
  guestAddress?: string;
  guestPort: number;
}

/**
 * Parses `[tcp:|udp:][ADDR:]HOSTPORT:[GUESTADDR:]GUESTPORT` (the CLI's `forward add`): the host
 * address defaults to 127.0.0.1, never every interface unless typed.
 */
export function parseForwardSpec(
  spec: string,
): { ok: true; value: ForwardSpec } | { ok: false; message: string } {
  const bad = {
    ok: false as const,
    message: `"${spec}" is not a forward: write [tcp:|udp:][HOSTADDR:]HOSTPORT:[GUESTADDR:]GUESTPORT, like 8080:80 or udp:127.0.0.1:5353:53`,
  };
  const parts = spec.trim().split(':');
  let protocol: 'tcp' | 'udp' = 'tcp';
  if (parts[0] === 'tcp' || parts[0] === 'udp') protocol = parts.shift() as 'tcp' | 'udp';
  const isPort = (s: string | undefined): boolean => s !== undefined && /^\d{1,5}$/.test(s);
  const isIp = (s: string | undefined): boolean => s !== undefined && ipv4ToNumber(s) !== null;
  let hostAddress = '127.0.0.1';
  let guestAddress: string | undefined;
  if (isIp(parts[0])) hostAddress = parts.shift() ?? hostAddress;
  const hostPort = parts.shift();
  if (parts.length === 2 && isIp(parts[0])) guestAddress = parts.shift();
  const guestPort = parts.shift();
  if (parts.length > 0 || !isPort(hostPort) || !isPort(guestPort)) return bad;
  const hp = Number(hostPort);
  const gp = Number(guestPort);
  for (const [what, p] of [
    ['host', hp],
    ['guest', gp],
  ] as const) {
    if (p < 1 || p > 65535) {
      return { ok: false, message: `The ${what} port ${p} is out of range: use 1 to 65535` };
    }
  }
  return {
    ok: true,
    value: {
      protocol,
      hostAddress,
      hostPort: hp,
      guestPort: gp,
      ...(guestAddress ? { guestAddress } : {}),
    },
  };
}

export function formatForward(f: ForwardSpec): string {
  const guest = f.guestAddress ? `${f.guestAddress}:${f.guestPort}` : String(f.guestPort);
  return `${f.protocol}:${f.hostAddress}:${f.hostPort}:${guest}`;
}

/** Two forwards clash when they listen on the same protocol and host port (any address). */
export function forwardsClash(
  a: { protocol: string; hostPort: number },
  b: { protocol: string; hostPort: number },
): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort;
}

/** What a person types to reach a guest's SSH through a forward. */
export function sshCommandLine(user: string, hostAddress: string, port: number): string {
  return `ssh -p ${port} ${user}@${hostAddress}`;
}

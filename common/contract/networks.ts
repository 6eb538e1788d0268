/**
 * Networks between VMs, the VMs' network cards and their port forwards. A private network is a
 * switch of its own (it keeps running without the app, like the VMs on it); with DHCP or NAT on,
 * a small user-mode router on that switch serves them.
 */
import { z } from 'zod';
import { parseSubnet } from '../rules/networks';
import {
  NIC_MODELS,
  MacSchema,
  NetworkNameSchema,
  NicAttachmentSchema,
  PortForwardSchema,
  PortSchema,
  StoredPortForwardSchema,
  VmRefSchema,
  type NicConfig,
  type PortForward,
} from './vm-config';

export const NETWORK_CONFIG_VERSION = 1;

export const SubnetSchema = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const parsed = parseSubnet(s);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.message });
      return z.NEVER;
    }
    return parsed.value.cidr;
  });

/** A forward on a NAT network: to one guest address on it. */
export const StoredNetworkForwardSchema = StoredPortForwardSchema.extend({
  guestAddress: z.ipv4(),
  /** The VM it was made for (listed with that VM's forwards); null: made on the network. */
  vmId: z.string().nullable().default(null),
});
export type NetworkForward = z.infer<typeof StoredNetworkForwardSchema>;

/** `networks/<id>/network.json`. */
export const NetworkConfigSchema = z.object({
  configVersion: z.literal(NETWORK_CONFIG_VERSION),
  id: z.string().regex(/^[0-9a-f]{12}$/),
  name: NetworkNameSchema,
  subnet: SubnetSchema,
  dhcp: z.boolean().default(true),
  nat: z.boolean().default(false),
  forwards: z.array(StoredNetworkForwardSchema).default([]),
  createdAt: z.string(),
});
export type NetworkConfig = z.infer<typeof NetworkConfigSchema>;

export const NetworkRefSchema = z.string().trim().min(1, 'Name the network');

const NicIndexSchema = z.number().int().min(0).max(3);

/** A card as a request gives it: the engine generates the MAC when none is given. */
export const NicRequestSchema = z.object({
  model: z.enum(NIC_MODELS).optional(),
  mac: MacSchema.optional(),
  attach: NicAttachmentSchema.optional(),
});

const ForwardRequestSchema = z.object({
  vm: VmRefSchema,
  /** The card (index); default: the first card with NAT (its own, or a NAT network's). */
  nic: NicIndexSchema.optional(),
  forward: PortForwardSchema,
  /** On a NAT network: the guest's address there (default: the address its agent reports). */
  guestAddress: z.ipv4().optional(),
});

export const networkMethods = {
  'network.list': z.object({}),
  'network.get': z.object({ network: NetworkRefSchema }),
  'network.create': z.object({
    name: NetworkNameSchema,
    /** Default: a free /24 in 10.13.0.0/16. */
    subnet: SubnetSchema.optional(),
    dhcp: z.boolean().default(true),
    nat: z.boolean().default(false),
  }),
  /** Subnet, DHCP and NAT change only while no running VM is on the network. */
  'network.update': z.object({
    network: NetworkRefSchema,
    patch: z
      .object({
        name: NetworkNameSchema,
        subnet: SubnetSchema,
        dhcp: z.boolean(),
        nat: z.boolean(),
      })
      .partial(),
  }),
  /** Refused while a VM's card is on it (naming them); `detach` unplugs stopped VMs' cards. */
  'network.delete': z.object({ network: NetworkRefSchema, detach: z.boolean().default(false) }),
  /** Whether a host bridge can take bridged cards, and the root commands that would fix it. */
  'network.bridgeCheck': z.object({ bridge: z.string().trim().min(1) }),
  'nic.list': z.object({ vm: VmRefSchema }),
  /** Cards are added, changed and removed while the VM is shut down (forwards change live). */
  'nic.add': z.object({ vm: VmRefSchema, nic: NicRequestSchema }),
  'nic.update': z.object({ vm: VmRefSchema, index: NicIndexSchema, patch: NicRequestSchema }),
  'nic.remove': z.object({ vm: VmRefSchema, index: NicIndexSchema }),
  'forward.list': z.object({ vm: VmRefSchema }),
  /** Live on a running VM (no restart), kept in the config for its next start. */
  'forward.add': ForwardRequestSchema,
  'forward.remove': z.object({
    vm: VmRefSchema,
    nic: NicIndexSchema.optional(),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
    hostPort: PortSchema,
  }),
  /** Forwards a free host port (from 2222 up) to the guest's port 22. */
  'forward.ssh': z.object({ vm: VmRefSchema, nic: NicIndexSchema.optional() }),
} as const;

// ---------------------------------------------------------------------------------------------
// Results

export interface NetworkMember {
  vmId: string;
  vmName: string;
  nic: number;
  mac: string;
  running: boolean;
  /** Its address on this network, where known (its agent, or a DHCP lease seen). */
  addresses: string[];
}

export interface NetworkSummary {
  config: NetworkConfig;
  /** Its switch (and router) run: at least one VM on it started since the host booted. */
  running: boolean;
  /** The router's addresses on the network, when it has one (DHCP or NAT). */
  gateway: string | null;
  members: NetworkMember[];
}

/** One missing piece of bridged networking and the command (as root) that adds it. */
export interface BridgeProblem {
  what: string;
  fix: string;
}

export interface BridgeCheck {
  bridge: string;
  ok: boolean;
  problems: BridgeProblem[];
  /** The one-time root commands, in order, that fix every problem. */
  commands: string[];
  /** Bridges this host has (for the picker). */
  bridges: string[];
  helper: string | null;
}

export interface NicInfo {
  index: number;
  config: NicConfig;
  /** What the guest's addresses are on this card, where known. */
  addresses: string[];
  /** The forwards that reach this card (its own on NAT; the network's rules for it otherwise). */
  forwards: ForwardInfo[];
  /** Why this card cannot work as configured right now (a missing network, a bridge not ready). */
  problem: string | null;
}

export interface ForwardInfo extends PortForward {
  nic: number;
  /** Set for forwards on a NAT network. */
  guestAddress: string | null;
  network: string | null;
  /** Active in the running QEMU (or router) right now. */
  live: boolean;
  /** `tcp:127.0.0.1:2222:22` */
  spec: string;
}

export interface SshForwardResult {
  forward: ForwardInfo;
  /** `ssh -p 2222 user@127.0.0.1` */
  command: string;
}

export interface NetworkResults {
  'network.list': NetworkSummary[];
  'network.get': NetworkSummary;
  'network.create': NetworkSummary;
  'network.update': NetworkSummary;
  'network.delete': { deleted: true; detached: { vmName: string; nic: number }[] };
  'network.bridgeCheck': BridgeCheck;
  'nic.list': NicInfo[];
  'nic.add': NicInfo[];
  'nic.update': NicInfo[];
  'nic.remove': NicInfo[];
  'forward.list': ForwardInfo[];
  'forward.add': ForwardInfo;
  'forward.remove': { removed: ForwardInfo };
  'forward.ssh': SshForwardResult;
}

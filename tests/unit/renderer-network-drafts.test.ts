/**
 * The Network tab's and the Networks page's form models: a card's draft -> nic.update's patch, a
 * forward's draft -> forward.add's fields, a network's draft -> network.create/update, each checked
 * with common's rules (MACs, bridge and network names, ports, loopback, subnets) before sending.
 */
import { describe, expect, it } from 'vitest';
import {
  NetworkConfigSchema,
  NicConfigSchema,
  type NetworkSummary,
  type NicConfig,
} from '../../common/contract';
import { ATTACHMENT_HELP, ATTACHMENT_KINDS, macProblem } from '../../common/rules/networks';
import {
  ATTACHMENT_LABELS,
  NIC_MODELS,
  attachmentSummary,
  cardDraft,
  cardErrors,
  cardPatch,
  cardsLockedReason,
  createNetworkRequest,
  emptyForwardDraft,
  emptyNetworkDraft,
  forwardErrors,
  forwardRequest,
  forwardsApply,
  generateMac,
  networkDraft,
  networkErrors,
  suggestedSubnet,
  updateNetworkPatch,
  type ForwardDraft,
} from '../../renderer/src/lib/network-drafts';
import { NIC_MODELS as CONTRACT_MODELS } from '../../common/contract/vm-config';

const natCard: NicConfig = NicConfigSchema.parse({
  mac: '52:54:00:12:34:56',
  attach: {
    kind: 'nat',
    forwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 2222, guestPort: 22 }],
  },
});

function network(name: string, subnet: string, extra: Partial<{ nat: boolean; id: string }> = {}) {
  const summary: NetworkSummary = {
    config: NetworkConfigSchema.parse({
      configVersion: 1,
      id:
        extra.id ??
        name
          .padEnd(12, '0')
          .slice(0, 12)
          .replace(/[^0-9a-f]/g, 'a'),
      name,
      subnet,
      nat: extra.nat ?? false,
      createdAt: '2026-01-01T00:00:00Z',
    }),
    running: false,
    gateway: null,
    members: [],
  };
  return summary;
}

describe('cards', () => {
  it('offers every model of the contract and a name and help line for every mode', () => {
    expect([...NIC_MODELS].sort()).toEqual([...CONTRACT_MODELS].sort());
    for (const kind of ATTACHMENT_KINDS) {
      expect(ATTACHMENT_LABELS[kind]).toBeTruthy();
      expect(ATTACHMENT_HELP[kind].length).toBeGreaterThan(20);
    }
  });

  it('a draft of the card as it is asks for nothing', () => {
    expect(cardPatch(cardDraft(natCard), natCard)).toBeNull();
    expect(cardErrors(cardDraft(natCard), [])).toEqual({});
  });

  it('sends only what changed, with the MAC normalized', () => {
    const d = { ...cardDraft(natCard), model: 'e1000' as const, mac: '52-54-00-AA-BB-CC' };
    expect(cardPatch(d, natCard)).toEqual({ model: 'e1000', mac: '52:54:00:aa:bb:cc' });
  });

  it('a NAT card that stays NAT keeps its forwards; another mode replaces the attachment', () => {
    const toNet = { ...cardDraft(natCard), kind: 'network' as const, network: 'lab' };
    expect(cardPatch(toNet, natCard)).toEqual({ attach: { kind: 'network', network: 'lab' } });
    const toBridge = { ...cardDraft(natCard), kind: 'bridge' as const, bridge: ' br0 ' };
    expect(cardPatch(toBridge, natCard)).toEqual({ attach: { kind: 'bridge', bridge: 'br0' } });
    const unplugged = { ...cardDraft(natCard), kind: 'none' as const };
    expect(cardPatch(unplugged, natCard)).toEqual({ attach: { kind: 'none' } });
    const onNet = NicConfigSchema.parse({
      mac: '52:54:00:12:34:57',
      attach: { kind: 'network', network: 'lab' },
    });
    expect(cardPatch({ ...cardDraft(onNet), kind: 'nat' }, onNet)).toEqual({
      attach: { kind: 'nat', forwards: [], internet: true },
    });
  });

  it('turns a NAT card’s internet off and on, keeping its forwards', () => {
    const withForward = NicConfigSchema.parse({
      mac: '52:54:00:12:34:58',
      attach: {
        kind: 'nat',
        forwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80 }],
      },
    });
    const attach = withForward.attach;
    if (attach.kind !== 'nat') throw new Error('a NAT card');
    expect(cardDraft(withForward).internet).toBe(true);
    const off = { ...cardDraft(withForward), internet: false };
    expect(cardPatch(off, withForward)).toEqual({ attach: { ...attach, internet: false } });
    const closed = { ...withForward, attach: { ...attach, internet: false } };
    expect(cardDraft(closed).internet).toBe(false);
    expect(cardPatch(cardDraft(closed), closed)).toBeNull();
    expect(cardPatch({ ...cardDraft(closed), internet: true }, closed)).toEqual({
      attach: { ...attach, internet: true },
    });
  });

  it('refuses multicast, malformed and duplicate MACs, an unnamed network and a bad bridge', () => {
    const d = cardDraft(natCard);
    expect(cardErrors({ ...d, mac: '01:00:5e:00:00:01' }, []).mac).toMatch(/multicast/);
    expect(cardErrors({ ...d, mac: '52:54:00:12:34' }, []).mac).toMatch(/not a MAC/);
    expect(cardErrors(d, ['52:54:00:12:34:56']).mac).toMatch(/Another card/);
    expect(cardErrors({ ...d, kind: 'network', network: '' }, []).network).toMatch(/Choose/);
    expect(cardErrors({ ...d, kind: 'bridge', bridge: '' }, []).bridge).toMatch(/br0/);
    expect(cardErrors({ ...d, kind: 'bridge', bridge: 'a/b' }, []).bridge).toMatch(/not a bridge/);
  });

  it('locks cards unless the VM is shut down, and says forwards still change', () => {
    expect(cardsLockedReason('stopped')).toBeNull();
    expect(cardsLockedReason('crashed')).toBeNull();
    expect(cardsLockedReason('running')).toMatch(/Shut the VM down.*forwards change while it runs/);
    expect(cardsLockedReason('paused')).not.toBeNull();
  });

  it('takes forwards on NAT cards and on NAT networks only', () => {
    const nets = [network('lab', '10.13.1.0/24'), network('out', '10.13.2.0/24', { nat: true })];
    expect(forwardsApply(natCard, nets)).toBe('nat');
    const on = (name: string) =>
      NicConfigSchema.parse({ ...natCard, attach: { kind: 'network', network: name } });
    expect(forwardsApply(on('lab'), nets)).toBeNull();
    expect(forwardsApply(on('out'), nets)).toBe('network');
    expect(forwardsApply(on('gone'), nets)).toBeNull();
    expect(forwardsApply({ ...natCard, attach: { kind: 'none' } }, nets)).toBeNull();
  });

  it('says what a card is attached to', () => {
    expect(attachmentSummary(natCard.attach)).toBe('NAT');
    expect(attachmentSummary({ kind: 'nat', forwards: [], internet: false })).toBe(
      'NAT (no internet)',
    );
    expect(attachmentSummary({ kind: 'network', network: 'lab' })).toBe('Private network “lab”');
    expect(attachmentSummary({ kind: 'bridge', bridge: 'br0' })).toBe('Bridged to br0');
    expect(attachmentSummary({ kind: 'none' })).toBe('Not connected');
  });
});

describe('forwards', () => {
  const draft = (patch: Partial<ForwardDraft>): ForwardDraft => ({
    ...emptyForwardDraft(),
    ...patch,
  });

  it('defaults to TCP on 127.0.0.1 and sends numbers', () => {
    const d = draft({ hostPort: '8080', guestPort: '80' });
    expect(forwardErrors(d, [], false)).toEqual({});
    expect(forwardRequest(d, false)).toEqual({
      forward: { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80 },
    });
  });

  it('refuses ports out of range, empty or not numbers', () => {
    expect(
      forwardErrors(draft({ hostPort: '70000', guestPort: '80' }), [], false).hostPort,
    ).toMatch(/out of range/);
    expect(forwardErrors(draft({ hostPort: '0', guestPort: '80' }), [], false).hostPort).toMatch(
      /out of range/,
    );
    expect(forwardErrors(draft({ hostPort: '80', guestPort: '' }), [], false).guestPort).toMatch(
      /Enter the guest port/,
    );
    expect(forwardErrors(draft({ hostPort: 'http', guestPort: '80' }), [], false).hostPort).toMatch(
      /number/,
    );
  });

  it('refuses a host port already forwarded on the same protocol, not on the other', () => {
    const taken = [{ protocol: 'tcp' as const, hostPort: 2222 }];
    expect(
      forwardErrors(draft({ hostPort: '2222', guestPort: '22' }), taken, false).hostPort,
    ).toMatch(/already forwarded/);
    expect(
      forwardErrors(draft({ protocol: 'udp', hostPort: '2222', guestPort: '22' }), taken, false),
    ).toEqual({});
  });

  it('a non-loopback host address needs the explicit yes, then sends public: true', () => {
    const open = draft({ hostAddress: '0.0.0.0', hostPort: '8080', guestPort: '80' });
    expect(forwardErrors(open, [], false).public).toMatch(/reachable from other computers/);
    const yes = { ...open, public: true };
    expect(forwardErrors(yes, [], false)).toEqual({});
    expect(forwardRequest(yes, false).forward).toMatchObject({
      hostAddress: '0.0.0.0',
      public: true,
    });
    expect(
      forwardErrors(draft({ hostAddress: '127.0.0.2', hostPort: '1', guestPort: '1' }), [], false),
    ).toEqual({});
    expect(
      forwardErrors(draft({ hostAddress: 'example', hostPort: '1', guestPort: '1' }), [], false)
        .hostAddress,
    ).toMatch(/not an IPv4/);
  });

  it('on a NAT network a guest address may be given (checked) and is sent', () => {
    const d = draft({ hostPort: '8080', guestPort: '80', guestAddress: '10.13.1.15' });
    expect(forwardErrors(d, [], true)).toEqual({});
    expect(forwardRequest(d, true).guestAddress).toBe('10.13.1.15');
    expect(forwardRequest(d, false).guestAddress).toBeUndefined();
    expect(forwardErrors({ ...d, guestAddress: '10.13' }, [], true).guestAddress).toMatch(/IPv4/);
  });
});

describe('generateMac', () => {
  it('uses QEMU’s prefix and skips addresses the VM’s cards have', () => {
    const rolls = [
      [0xab, 0xcd, 0xef],
      [0x01, 0x02, 0x03],
    ];
    let i = 0;
    const random = () => rolls[i++] ?? [0, 0, 0];
    const mac = generateMac(random, ['52:54:00:AB:CD:EF']);
    expect(mac).toBe('52:54:00:01:02:03');
    expect(macProblem(mac)).toBeNull();
  });

  it('gives up loudly on a random source that repeats', () => {
    expect(() => generateMac(() => [1, 2, 3], ['52:54:00:01:02:03'])).toThrow(/64 tries/);
  });
});

describe('networks', () => {
  const nets = [network('lab', '10.13.1.0/24', { id: 'aaaaaaaaaaa1' })];

  it('a new network comes with the first free subnet filled in', () => {
    expect(emptyNetworkDraft().subnet).toBe('10.13.1.0/24');
    expect(emptyNetworkDraft(nets).subnet).toBe('10.13.2.0/24');
    expect(suggestedSubnet([...nets, network('b', '10.13.2.0/23', { id: 'aaaaaaaaaaa2' })])).toBe(
      '10.13.4.0/24',
    );
  });

  it('an empty subnet is left to the engine', () => {
    const d = { ...emptyNetworkDraft(), subnet: '', name: 'dmz' };
    expect(networkErrors(d, nets, null)).toEqual({});
    expect(createNetworkRequest(d)).toEqual({ name: 'dmz', dhcp: true, nat: false });
    expect(createNetworkRequest({ ...d, subnet: ' 10.13.9.0/24 ' }).subnet).toBe('10.13.9.0/24');
  });

  it('refuses bad and taken names, bad subnets and overlapping ones', () => {
    const d = emptyNetworkDraft();
    expect(networkErrors(d, nets, null).name).toMatch(/Give the network a name/);
    expect(networkErrors({ ...d, name: 'my lab' }, nets, null).name).toMatch(/no spaces/);
    expect(networkErrors({ ...d, name: 'lab' }, nets, null).name).toMatch(/already/);
    expect(networkErrors({ ...d, name: 'x', subnet: '10.13.1.0/33' }, nets, null).subnet).toMatch(
      /prefix/,
    );
    expect(networkErrors({ ...d, name: 'x', subnet: '10.13.0.0/16' }, nets, null).subnet).toMatch(
      /overlaps “lab”/,
    );
  });

  it('editing a network does not clash with itself, and sends only what changed', () => {
    const lab = nets[0] as NetworkSummary;
    const d = networkDraft(lab);
    expect(networkErrors(d, nets, lab.config.id)).toEqual({});
    expect(updateNetworkPatch(d, lab)).toBeNull();
    expect(updateNetworkPatch({ ...d, nat: true, name: 'lab2' }, lab)).toEqual({
      name: 'lab2',
      nat: true,
    });
  });
});

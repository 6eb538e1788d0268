/**
 * A VM's network cards: listed with the guest's addresses and the forwards that reach each one;
 * added, changed and removed while the VM is shut down (QEMU wires cards at start). Every card
 * has its own MAC, unique in the library.
 */
import { stat } from 'node:fs/promises';
import type {
  NicAttachment,
  NicConfig,
  NicInfo,
  ParsedParams,
  VmConfig,
} from '../../../common/contract';
import { NIC_MAX } from '../../../common/rules/networks';
import { NICS_NEED_STOP, nicLabel, savedRefusalMessage } from '../../../common/rules/vm-settings';
import { isGuestUp, isLive, isSaved } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { Vm } from '../library/vm';
import { liveQemuPid } from '../qemu/pid-file';
import { cardAddresses, currentAgentFacts } from './card-addresses';
import type { ForwardService, NetworkPort, VmSource } from './forwards';
import { newMac, usedMacs } from './mac';

type NicRequest = ParsedParams<'nic.add'>['nic'];

export class NicService {
  constructor(
    private readonly vms: VmSource,
    private readonly networks: NetworkPort,
    private readonly forwards: ForwardService,
    /** Whether a new NAT card reaches the internet when the request does not say. */
    private readonly newCardInternet = true,
  ) {}

  async list(ref: string): Promise<NicInfo[]> {
    const vm = this.vms.resolve(ref);
    await vm.safeRefresh();
    return this.infos(vm);
  }

  add(ref: string, req: NicRequest): Promise<NicInfo[]> {
    return this.change(ref, async (vm) => {
      if (vm.config.nics.length >= NIC_MAX) {
        throw new VivariumError(
          'RESOURCE_LIMIT',
          `"${vm.config.name}" has ${NIC_MAX} network cards, the most a VM can have: remove one first`,
        );
      }
      const attach = await this.checkedAttachment(
        req.attach ?? { kind: 'nat', forwards: [], internet: this.newCardInternet },
      );
      if (req.mac) this.assertMacFree(req.mac, vm.id, null);
      const mac = req.mac ?? newMac(usedMacs(this.configs()));
      const nic: NicConfig = { model: req.model ?? 'virtio-net-pci', mac, attach };
      return (c) => ({ ...c, nics: [...c.nics, nic] });
    });
  }

  update(ref: string, index: number, patch: NicRequest): Promise<NicInfo[]> {
    return this.change(ref, async (vm) => {
      const before = cardOf(vm.config, index);
      const attach = patch.attach ? await this.checkedAttachment(patch.attach) : null;
      if (patch.mac) this.assertMacFree(patch.mac, vm.id, index);
      return (c) => {
        const nic = cardOf(c, index);
        const next: NicConfig = {
          model: patch.model ?? nic.model,
          mac: patch.mac ?? nic.mac,
          attach: attach ? keepForwards(nic.attach, attach) : nic.attach,
        };
        if (nic.mac !== before.mac) {
          throw new VivariumError(
            'BAD_STATE',
            `${nicLabel(index)} of "${c.name}" changed meanwhile: look at its cards again`,
          );
        }
        return { ...c, nics: c.nics.map((n, i) => (i === index ? next : n)) };
      };
    });
  }

  /** A card that carried the guest's SSH forward takes it along: `ssh` then needs a new one. */
  remove(ref: string, index: number): Promise<NicInfo[]> {
    return this.change(ref, (vm) => {
      const before = cardOf(vm.config, index);
      return Promise.resolve((c: VmConfig) => {
        if (cardOf(c, index).mac !== before.mac) {
          throw new VivariumError(
            'BAD_STATE',
            `${nicLabel(index)} of "${c.name}" changed meanwhile: look at its cards again`,
          );
        }
        return { ...c, nics: c.nics.filter((_, i) => i !== index) };
      });
    });
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Checks the request against the VM as this engine sees it, then applies the change to the
   * config as it is on disk, with the VM shut down (and kept so: its operations wait in line).
   */
  private async change(
    ref: string,
    plan: (vm: Vm) => Promise<(c: VmConfig) => VmConfig>,
  ): Promise<NicInfo[]> {
    const vm = this.vms.resolve(ref);
    await vm.safeRefresh();
    await vm.supervisor.serialize(async () => {
      await assertShutDown(vm);
      const change = await plan(vm);
      await vm.update(change);
    });
    // Outside the VM's queue: a card's network summary refreshes its members, this VM among them.
    return this.infos(vm);
  }

  private async infos(vm: Vm): Promise<NicInfo[]> {
    const running = isGuestUp(vm.supervisor.current.state);
    const agent = await currentAgentFacts(vm);
    const nics = vm.config.nics;
    const out: NicInfo[] = [];
    for (let index = 0; index < nics.length; index++) {
      const config = nics[index];
      if (!config) continue;
      const summary =
        config.attach.kind === 'network'
          ? await this.networks.get(config.attach.network, { refresh: false }).catch(() => null)
          : null;
      const member = summary?.members.find((m) => m.vmId === vm.id && m.nic === index) ?? null;
      out.push({
        index,
        config,
        addresses: cardAddresses(config, { running, cardCount: nics.length, agent, member }),
        forwards: await this.forwards.ofCard(vm, index),
        problem: await this.problem(config.attach, summary !== null),
      });
    }
    return out;
  }

  /** Why a card cannot work as it is attached now, or null. */
  private async problem(attach: NicAttachment, networkFound: boolean): Promise<string | null> {
    if (attach.kind === 'network' && !networkFound) {
      return `There is no network called "${attach.network}" any more: create it again, or attach the card elsewhere`;
    }
    if (attach.kind === 'bridge' && process.platform === 'linux') {
      const isBridge = await stat(`/sys/class/net/${attach.bridge}/bridge`).then(
        () => true,
        () => false,
      );
      if (!isBridge) {
        return `This computer has no bridge called ${attach.bridge}: create it (see the bridge check), or attach the card elsewhere`;
      }
    }
    return null;
  }

  private async checkedAttachment(attach: NicAttachment): Promise<NicAttachment> {
    if (attach.kind === 'network') await this.networks.requireNetwork(attach.network);
    if (attach.kind === 'nat' && attach.forwards.length > 0) {
      throw new VivariumError(
        'INVALID_REQUEST',
        'Add forwards to a card with forward.add, once the card exists: each is checked against the host and the library',
        { 'nic.attach.forwards': 'Add them with forward.add' },
      );
    }
    return attach;
  }

  /** Refuses a MAC another card in the library has (this card's own is fine), naming the VM. */
  private assertMacFree(mac: string, vmId: string, index: number | null): void {
    for (const c of this.configs()) {
      c.nics.forEach((n, i) => {
        if (n.mac !== mac || (c.id === vmId && i === index)) return;
        const whose = c.id === vmId ? 'this VM' : `"${c.name}"`;
        throw new VivariumError(
          'INVALID_REQUEST',
          `${mac} is already the MAC of ${nicLabel(i).toLowerCase()} of ${whose}: choose another, or leave the MAC out for a new one`,
          { 'nic.mac': `Used by ${whose}` },
        );
      });
    }
  }

  private configs(): VmConfig[] {
    return this.vms.list().map((vm) => vm.config);
  }
}

/** Cards change only with no QEMU on the VM, whoever started it. */
async function assertShutDown(vm: Vm): Promise<void> {
  const state = vm.supervisor.current.state;
  if (isSaved(state)) throw new VivariumError('BAD_STATE', savedRefusalMessage('nics'));
  const qemu = isLive(state) ? null : await liveQemuPid(vm.files.pidFile, vm.id);
  if (isLive(state) || qemu !== null) {
    throw new VivariumError(
      'BAD_STATE',
      `"${vm.config.name}" is ${isLive(state) ? state : 'running'}. ${NICS_NEED_STOP}`,
    );
  }
}

function cardOf(c: VmConfig, index: number): NicConfig {
  const nic = c.nics[index];
  if (!nic) {
    throw new VivariumError(
      'NOT_FOUND',
      c.nics.length === 0
        ? `"${c.name}" has no network card`
        : `"${c.name}" has no ${nicLabel(index).toLowerCase()}: its cards are 1 to ${c.nics.length}`,
      { index: 'No such card' },
    );
  }
  return nic;
}

/** A card that stays on NAT keeps its forwards (they change through forward.add/remove). */
function keepForwards(before: NicAttachment, after: NicAttachment): NicAttachment {
  return before.kind === 'nat' && after.kind === 'nat'
    ? { ...after, forwards: before.forwards }
    : after;
}

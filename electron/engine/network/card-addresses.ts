/**
 * What a card's guest address is, where it can be known: the guest agent's own report (matched
 * to the card by MAC), the network's DHCP leases, or, on a NAT card of a running VM, the one
 * address QEMU's user-mode DHCP hands out.
 */
import type { GuestAgentInfo, NetworkMember, NicConfig } from '../../../common/contract';
import { NAT_GUEST_ADDRESS } from '../../../common/rules/networks';
import { isGuestUp } from '../../../common/vm-state';
import { readGuestState } from '../guest/guest-state';
import type { Vm } from '../library/vm';

/** The agent's facts from the VM's current start (any Vivarium process may have asked). */
export async function currentAgentFacts(vm: Vm): Promise<GuestAgentInfo | null> {
  const { state, startedAt } = vm.supervisor.current;
  if (!isGuestUp(state) || !startedAt) return null;
  return (await readGuestState(vm.files, startedAt))?.agent ?? null;
}

/** The guest's addresses on one card (IPv4 first). Pure. */
export function cardAddresses(
  nic: NicConfig,
  opts: {
    running: boolean;
    /** How many cards the VM has: with one, the agent's addresses are all this card's. */
    cardCount: number;
    agent: GuestAgentInfo | null;
    /** The card as its network sees it (DHCP leases), for cards on a private network. */
    member?: NetworkMember | null;
  },
): string[] {
  if (!opts.running) return [];
  const { agent } = opts;
  if (agent?.interfaces) {
    const own = agent.interfaces.find((i) => i.mac === nic.mac);
    if (own && own.addresses.length) return own.addresses;
  } else if (agent && opts.cardCount === 1 && agent.addresses.length) {
    return agent.addresses;
  }
  switch (nic.attach.kind) {
    case 'nat':
      return [NAT_GUEST_ADDRESS];
    case 'network':
      return opts.member?.addresses ?? [];
    default:
      return [];
  }
}

/**
 * `vivarium nic list|add|set|rm` (a VM's network cards, changed while it is shut down) and
 * `vivarium forward list|add|rm|ssh` (port forwards, changed live while it runs). Cards are
 * numbered from 1, as the app shows them ("Card 1" is the first).
 */
import { labelWithValue } from '../../common/labels';
import { Option } from 'commander';
import { NIC_MODELS, type ForwardInfo, type NicInfo, type Params } from '../../common/contract';
import {
  formatAttachment,
  parseAttachment,
  type NicAttachmentSpec,
} from '../../common/rules/networks';
import { NICS_NEED_STOP } from '../../common/rules/vm-settings';
import type { CliKit } from './kit';
import { parseCardNumber, parseForwardRef, parseForwardRule } from './forward-option';
import { PROG, shellQuote, UsageError, type JsonOpt } from './output';

const CARD_HELP = 'the card number, 1 to 4 (card 1 is the first, as in the app)';

interface CardOpts extends JsonOpt {
  attach?: string;
  model?: (typeof NIC_MODELS)[number];
  mac?: string;
}

const CARD_FLAGS = {
  vm: 'VM',
  index: 'N',
  'nic.attach': '--attach',
  'nic.model': '--model',
  'nic.mac': '--mac',
  'patch.attach': '--attach',
  'patch.model': '--model',
  'patch.mac': '--mac',
};

const FORWARD_FLAGS = {
  vm: 'VM',
  nic: '--nic',
  forward: 'RULE',
  'forward.hostAddress': 'RULE',
  'forward.hostPort': 'RULE',
  'forward.guestPort': 'RULE',
  guestAddress: 'RULE',
};

/** The request's card fields from the options; `attach` as the contract parses it. */
function cardRequest(o: CardOpts): Params<'nic.add'>['nic'] {
  return {
    ...(o.attach !== undefined && { attach: attachmentRequest(o.attach) }),
    ...(o.model !== undefined && { model: o.model }),
    ...(o.mac !== undefined && { mac: o.mac }),
  };
}

/** `nat`, `network:NAME`, `bridge:BR` or `none` as the contract's attachment. */
function attachmentRequest(spec: string): NicAttachmentSpec {
  const parsed = parseAttachment(spec);
  if (!parsed.ok) throw new UsageError(`${parsed.message} (--attach)`);
  return parsed.value;
}

function describeAttachment(info: NicInfo): string {
  const a = info.config.attach;
  const words = formatAttachment(a);
  return a.kind === 'nat' && !a.internet ? `${words} (no internet)` : words;
}

function forwardText(f: ForwardInfo): string {
  const guest = f.guestAddress ? `${f.guestAddress}:${f.guestPort}` : `guest port ${f.guestPort}`;
  const via = f.network ? ` via the network "${f.network}"` : '';
  return `${f.protocol} ${f.hostAddress}:${f.hostPort} -> ${guest}${via}`;
}

/** The cards as `status` and `nic list` show them: one line each, forwards below. */
export function cardLines(cards: readonly NicInfo[]): string[] {
  if (cards.length === 0) return ['No network cards.'];
  const lines: string[] = [];
  for (const c of cards) {
    const addresses = c.addresses.length ? `, ${c.addresses.join(', ')}` : '';
    lines.push(
      `Card ${c.index + 1}: ${labelWithValue('nicModel', c.config.model)} ${c.config.mac}, ${describeAttachment(c)}${addresses}`,
    );
    for (const f of c.forwards) lines.push(`  forward ${f.spec}${f.live ? ' (live)' : ''}`);
    if (c.problem) lines.push(`  problem: ${c.problem}`);
  }
  return lines;
}

export function registerNicCommands(kit: CliKit): void {
  const { program, run } = kit;
  const call: CliKit['call'] = (method, params, flags) => kit.call(method, params, flags);
  const group = (name: string, description: string) => {
    const g = program.command(name).description(description);
    const sub = (nameAndArgs: string, about: string) =>
      g
        .command(nameAndArgs)
        .description(about)
        .option('--json', 'machine-readable output on stdout');
    return sub;
  };
  const modelOption = () =>
    new Option('--model <model>', 'the card the guest sees').choices(NIC_MODELS);
  const attachHelp = 'nat, network:NAME, bridge:BRIDGE or none (no cable)';

  // nic ...
  const nic = group(
    'nic',
    `a VM's network cards, numbered from 1 (${NICS_NEED_STOP.replace(/\.$/, '')})`,
  );

  nic('list', 'show the cards, their addresses and the forwards that reach them')
    .alias('ls')
    .argument('<vm>', 'the VM')
    .action(
      run(async (vm: string, o: JsonOpt) => {
        const cards = await call('nic.list', { vm }, { vm: 'VM' });
        if (o.json) return kit.printJson(cards);
        kit.writeOut(cardLines(cards).join('\n'));
      }),
    );

  nic('add', 'add a card (at most 4) with a new MAC unless --mac gives one')
    .argument('<vm>', 'the VM')
    .option('--attach <where>', `where its cable goes: ${attachHelp} (default nat)`)
    .addOption(modelOption())
    .option('--mac <mac>', 'its MAC address, like 52:54:00:12:34:56 (default: a new one)')
    .action(
      run(async (vm: string, o: CardOpts) => {
        const cards = await call('nic.add', { vm, nic: cardRequest(o) }, CARD_FLAGS);
        if (o.json) return kit.printJson(cards);
        const added = cards[cards.length - 1];
        kit.writeOut(added ? `Added to ${vm}: ${cardLines([added])[0] ?? ''}` : 'Added.');
      }),
    );

  nic('set', "change a card's attachment, model or MAC")
    .argument('<vm>', 'the VM')
    .argument('<n>', CARD_HELP, parseCardNumber)
    .option('--attach <where>', `where its cable goes: ${attachHelp}`)
    .addOption(modelOption())
    .option('--mac <mac>', 'a new MAC address')
    .action(
      run(async (vm: string, index: number, o: CardOpts) => {
        const patch = cardRequest(o);
        if (Object.keys(patch).length === 0) {
          throw new UsageError('Nothing to change: give --attach, --model or --mac');
        }
        const cards = await call('nic.update', { vm, index, patch }, CARD_FLAGS);
        if (o.json) return kit.printJson(cards);
        const card = cards.find((c) => c.index === index);
        kit.writeOut(`Changed ${vm}: ${card ? (cardLines([card])[0] ?? '') : ''}`);
      }),
    );

  nic('rm', 'remove a card (the ones after it move up a number)')
    .alias('remove')
    .argument('<vm>', 'the VM')
    .argument('<n>', CARD_HELP, parseCardNumber)
    .action(
      run(async (vm: string, index: number, o: JsonOpt) => {
        const before = await call('nic.list', { vm }, { vm: 'VM' });
        const cards = await call('nic.remove', { vm, index }, CARD_FLAGS);
        if (o.json) return kit.printJson(cards);
        const lines = [`Removed card ${index + 1} from ${vm}.`];
        const ssh = before
          .find((c) => c.index === index)
          ?.forwards.find((f) => f.protocol === 'tcp' && f.guestPort === 22);
        if (ssh) {
          lines.push(
            `It carried the SSH forward (host port ${ssh.hostPort}): to reach the guest over SSH again, ${PROG} forward ssh ${shellQuote(vm)}`,
          );
        }
        kit.writeOut(lines.join('\n'));
      }),
    );

  // forward ...
  const forward = group(
    'forward',
    "a VM's port forwards: host ports that reach the guest (changed live while it runs)",
  );
  const nicOption = () =>
    new Option('--nic <n>', `${CARD_HELP}; default: the first card on NAT`).argParser(
      parseCardNumber,
    );

  forward('list', 'show the forwards; (live) marks those active in QEMU now')
    .alias('ls')
    .argument('<vm>', 'the VM')
    .action(
      run(async (vm: string, o: JsonOpt) => {
        const list = await call('forward.list', { vm }, { vm: 'VM' });
        if (o.json) return kit.printJson(list);
        if (list.length === 0) {
          kit.writeOut(
            `${vm} has no port forwards. Add one with: ${PROG} forward add ${shellQuote(vm)} 8080:80`,
          );
          return;
        }
        kit.writeOut(
          kit.table(
            ['CARD', 'RULE', 'LIVE', 'FORWARDS'],
            list.map((f) => [String(f.nic + 1), f.spec, f.live ? 'yes' : 'no', forwardText(f)]),
          ),
        );
      }),
    );

  forward('add', 'forward a host port to the guest (live when it runs, kept for the next start)')
    .argument('<vm>', 'the VM')
    .argument(
      '<rule>',
      '[tcp:|udp:][HOSTADDR:]HOSTPORT:[GUESTADDR:]GUESTPORT, like 8080:80 (host address 127.0.0.1 unless given; the guest address only on a private network)',
      parseForwardRule,
    )
    .addOption(nicOption())
    .option('--public', 'let a rule on a non-loopback address listen on every network')
    .action(
      run(
        async (
          vm: string,
          rule: ReturnType<typeof parseForwardRule>,
          o: JsonOpt & { nic?: number; public?: boolean },
        ) => {
          const { guestAddress, ...f } = rule;
          const info = await call(
            'forward.add',
            {
              vm,
              forward: { ...f, ...(o.public && { public: true }) },
              ...(o.nic !== undefined && { nic: o.nic }),
              ...(guestAddress !== undefined && { guestAddress }),
            },
            FORWARD_FLAGS,
          );
          if (o.json) return kit.printJson(info);
          kit.writeOut(
            `Forwarding ${forwardText(info)} on card ${info.nic + 1} of ${vm}${info.live ? ' (live now)' : ' (from its next start)'}.`,
          );
        },
      ),
    );

  forward('rm', 'remove a forward (live when the VM runs)')
    .alias('remove')
    .argument('<vm>', 'the VM')
    .argument('<rule>', '[tcp:|udp:]HOSTPORT, or the whole rule', parseForwardRef)
    .addOption(nicOption())
    .action(
      run(
        async (
          vm: string,
          rule: ReturnType<typeof parseForwardRef>,
          o: JsonOpt & { nic?: number },
        ) => {
          const res = await call(
            'forward.remove',
            { vm, ...rule, ...(o.nic !== undefined && { nic: o.nic }) },
            { ...FORWARD_FLAGS, hostPort: 'RULE', protocol: 'RULE' },
          );
          if (o.json) return kit.printJson(res);
          kit.writeOut(
            `Removed ${forwardText(res.removed)} from card ${res.removed.nic + 1} of ${vm}.`,
          );
        },
      ),
    );

  forward('ssh', "forward a free host port from 2222 up to the guest's SSH (port 22)")
    .argument('<vm>', 'the VM')
    .addOption(nicOption())
    .action(
      run(async (vm: string, o: JsonOpt & { nic?: number }) => {
        const res = await call(
          'forward.ssh',
          { vm, ...(o.nic !== undefined && { nic: o.nic }) },
          FORWARD_FLAGS,
        );
        if (o.json) return kit.printJson(res);
        kit.writeOut(
          `SSH to ${vm} through host port ${res.forward.hostPort}${res.forward.live ? '' : ' (from its next start)'}:\n  ${res.command}`,
        );
      }),
    );
}

/**
 * `vivarium network list|create|show|set|rm|bridge-check`: private networks between VMs (a
 * switch of their own, with DHCP and NAT when asked) and whether a host bridge can take cards.
 */
import type { BridgeCheck, NetworkSummary } from '../../common/contract';
import { NETWORK_OPTION_HELP } from '../../common/rules/networks';
import { Option } from 'commander';
import type { CliKit } from './kit';
import { PROG, shellQuote, UsageError, type JsonOpt } from './output';

const NETWORK_FLAGS = {
  name: 'NAME',
  network: 'NAME',
  subnet: '--subnet',
  'patch.name': '--name',
  'patch.subnet': '--subnet',
  'patch.dhcp': '--dhcp/--no-dhcp',
  'patch.nat': '--nat/--no-nat',
};

function onOff(b: boolean): string {
  return b ? 'on' : 'off';
}

function networkLines(n: NetworkSummary): string[] {
  const c = n.config;
  const lines = [
    `Network ${c.name} (${c.id})`,
    `  subnet:  ${c.subnet}${n.gateway ? `, gateway and DNS ${n.gateway}` : ''}`,
    `  DHCP:    ${onOff(c.dhcp)}${c.dhcp ? ' (hands out .15 to .30)' : ''}`,
    `  NAT:     ${onOff(c.nat)}${c.nat ? ' (guests reach this computer and beyond)' : ''}`,
    `  running: ${n.running ? 'yes' : 'no (starts with the first VM on it)'}`,
  ];
  if (n.members.length === 0) {
    lines.push('  VMs:     none yet');
  } else {
    lines.push('  VMs:');
    for (const m of n.members) {
      const where = m.addresses.length ? `, ${m.addresses.join(', ')}` : '';
      lines.push(
        `    ${m.vmName} card ${m.nic + 1} ${m.mac} (${m.running ? 'running' : 'stopped'}${where})`,
      );
    }
  }
  for (const f of c.forwards) {
    lines.push(
      `  forward ${f.protocol}:${f.hostAddress}:${f.hostPort} -> ${f.guestAddress}:${f.guestPort}`,
    );
  }
  return lines;
}

export function bridgeCheckLines(check: BridgeCheck): string[] {
  if (check.ok) {
    return [
      `Bridge ${check.bridge} is ready: cards can be bridged to it (--attach bridge:${check.bridge}).`,
    ];
  }
  const lines = [`Bridge ${check.bridge} is not ready:`];
  for (const p of check.problems) lines.push(`  - ${p.what}`);
  if (check.commands.length) {
    lines.push('Run once, as root:');
    for (const c of check.commands) lines.push(`  ${c}`);
  }
  if (check.bridges.length) lines.push(`Bridges on this computer: ${check.bridges.join(', ')}`);
  return lines;
}

interface CreateOpts extends JsonOpt {
  subnet?: string;
  dhcp?: boolean;
  nat?: boolean;
  isolated?: boolean;
}

interface SetOpts extends JsonOpt {
  name?: string;
  subnet?: string;
  dhcp?: boolean;
  nat?: boolean;
}

export function registerNetworkCommands(kit: CliKit): void {
  const g = kit.program
    .command('network')
    .description('private networks between VMs, and host bridges');
  const sub = (nameAndArgs: string, about: string) =>
    g.command(nameAndArgs).description(about).option('--json', 'machine-readable output on stdout');
  const call: CliKit['call'] = (method, params, flags) => kit.call(method, params, flags);

  sub('list', 'show the networks, their options and how many VMs are on each')
    .alias('ls')
    .action(
      kit.run(async (o: JsonOpt) => {
        const list = await call('network.list', {});
        if (o.json) return kit.printJson(list);
        if (list.length === 0) {
          kit.writeOut(`No networks yet. Make one with: ${PROG} network create NAME`);
          return;
        }
        kit.writeOut(
          kit.table(
            ['NAME', 'SUBNET', 'DHCP', 'NAT', 'RUNNING', 'VMS'],
            list.map((n) => [
              n.config.name,
              n.config.subnet,
              onOff(n.config.dhcp),
              onOff(n.config.nat),
              n.running ? 'yes' : 'no',
              [...new Set(n.members.map((m) => m.vmName))].join(', ') || '-',
            ]),
          ),
        );
      }),
    );

  sub('create', 'make a private network (layer 2 between its VMs only)')
    .argument('<name>', 'its name')
    .option(
      '--subnet <cidr>',
      'its addresses, like 10.13.5.0/24 (default: a free /24 in 10.13.0.0/16)',
    )
    .option('--dhcp', `DHCP on (the default): ${NETWORK_OPTION_HELP.dhcp}`)
    .option('--no-dhcp', 'DHCP off: guests take static addresses')
    .addOption(new Option('--nat', `NAT on: ${NETWORK_OPTION_HELP.nat}`).conflicts('isolated'))
    .option('--isolated', 'NAT off (the default): the VMs on it reach each other and nothing else')
    .action(
      kit.run(async (name: string, o: CreateOpts) => {
        const n = await call(
          'network.create',
          {
            name,
            dhcp: o.dhcp ?? true,
            nat: o.nat === true,
            ...(o.subnet !== undefined && { subnet: o.subnet }),
          },
          NETWORK_FLAGS,
        );
        if (o.json) return kit.printJson(n);
        kit.writeOut(
          [
            ...networkLines(n),
            `Attach a card with: ${PROG} nic add VM --attach network:${shellQuote(n.config.name)}`,
          ].join('\n'),
        );
      }),
    );

  sub('show', 'show a network, the VMs on it and their addresses')
    .argument('<name>', 'the network')
    .action(
      kit.run(async (network: string, o: JsonOpt) => {
        const n = await call('network.get', { network }, NETWORK_FLAGS);
        if (o.json) return kit.printJson(n);
        kit.writeOut(networkLines(n).join('\n'));
      }),
    );

  sub('set', 'rename a network or change its subnet, DHCP or NAT (those while no VM on it runs)')
    .argument('<name>', 'the network')
    .option('--name <new>', 'a new name (the cards on it follow)')
    .option('--subnet <cidr>', 'its addresses, like 10.13.5.0/24')
    .option('--dhcp', 'DHCP on')
    .option('--no-dhcp', 'DHCP off')
    .option('--nat', 'NAT on')
    .option('--no-nat', 'NAT off')
    .action(
      kit.run(async (network: string, o: SetOpts) => {
        const patch = {
          ...(o.name !== undefined && { name: o.name }),
          ...(o.subnet !== undefined && { subnet: o.subnet }),
          ...(o.dhcp !== undefined && { dhcp: o.dhcp }),
          ...(o.nat !== undefined && { nat: o.nat }),
        };
        if (Object.keys(patch).length === 0) {
          throw new UsageError(
            'Nothing to change: give --name, --subnet, --[no-]dhcp or --[no-]nat',
          );
        }
        const n = await call('network.update', { network, patch }, NETWORK_FLAGS);
        if (o.json) return kit.printJson(n);
        kit.writeOut(networkLines(n).join('\n'));
      }),
    );

  sub('rm', 'delete a network (refused while a VM on it runs)')
    .alias('remove')
    .alias('delete')
    .argument('<name>', 'the network')
    .option('--detach', "unplug the cards of stopped VMs on it (they become 'none')")
    .action(
      kit.run(async (network: string, o: JsonOpt & { detach?: boolean }) => {
        const res = await call(
          'network.delete',
          { network, detach: o.detach ?? false },
          NETWORK_FLAGS,
        );
        if (o.json) return kit.printJson(res);
        const lines = [`Deleted the network ${network}.`];
        for (const d of res.detached) lines.push(`  unplugged card ${d.nic + 1} of ${d.vmName}`);
        kit.writeOut(lines.join('\n'));
      }),
    );

  sub('bridge-check', 'whether a host bridge can take bridged cards, and the root commands if not')
    .argument('<bridge>', 'the bridge, like br0')
    .action(
      kit.run(async (bridge: string, o: JsonOpt) => {
        const check = await call('network.bridgeCheck', { bridge }, { bridge: 'BRIDGE' });
        if (o.json) return kit.printJson(check);
        kit.writeOut(bridgeCheckLines(check).join('\n'));
        if (!check.ok) process.exitCode = 1;
      }),
    );
}

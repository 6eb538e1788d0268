/**
 * `vivarium share add|list|rm` (a VM's shared folders, changed while it is shut down) and
 * `vivarium clipboard VM on|off`. Each share is listed with the one line the guest runs to mount
 * it, the same line the Hardware tab shows.
 */
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { ShareList } from '../../common/contract';
import { SHARE_MODES, SHARES_NEED_STOP, type ShareMode } from '../../common/rules/shares';
import type { CliKit } from './kit';
import { UsageError, type JsonOpt } from './output';

interface AddOpts extends JsonOpt {
  tag?: string;
  readonly?: boolean;
  mode?: ShareMode;
}

const FLAGS = { vm: 'VM', path: 'HOSTDIR', tag: '--tag', readOnly: '--readonly', mode: '--mode' };

/** The shares as `share list` prints them: one block each, the guest's line indented below. */
export function shareLines(list: ShareList): string[] {
  const lines: string[] = [];
  if (list.shares.length === 0) lines.push('No shared folders.');
  for (const s of list.shares) {
    const c = s.config;
    lines.push(`${c.tag}: ${c.path} (${c.mode}, ${c.readOnly ? 'read-only' : 'read-write'})`);
    lines.push(`  in the guest: ${s.mountLine}`);
    if (s.fstabLine) lines.push(`  /etc/fstab:   ${s.fstabLine}`);
    if (s.problem) lines.push(`  problem: ${s.problem}`);
  }
  lines.push(`Clipboard sharing: ${list.clipboard ? 'on' : 'off'}`);
  for (const m of list.modes)
    if (!m.ok && m.reason) lines.push(`(${m.mode} unavailable: ${m.reason})`);
  return lines;
}

export function registerShareCommands(kit: CliKit): void {
  const { program, run } = kit;
  const share = program
    .command('share')
    .description(`a VM's shared folders (${SHARES_NEED_STOP.replace(/\.$/, '')})`);
  const sub = (nameAndArgs: string, about: string) =>
    share
      .command(nameAndArgs)
      .description(about)
      .option('--json', 'machine-readable output on stdout');

  sub('add', 'offer a folder of this computer to the guest')
    .argument('<vm>', 'the VM')
    .argument('<hostdir>', 'the folder to share')
    .option('--tag <tag>', 'the word the guest mounts it by (default: from the folder name)')
    .option('--readonly', 'the guest may read but not change the folder')
    .addOption(
      new Option('--mode <mode>', '9p for Linux guests, smb for Windows (needs samba), virtiofs')
        .choices(SHARE_MODES)
        .default('9p'),
    )
    .action(
      run(async (vm: string, hostdir: string, o: AddOpts) => {
        const list = await kit.call(
          'share.add',
          {
            vm,
            path: resolve(hostdir),
            ...(o.tag !== undefined && { tag: o.tag }),
            readOnly: o.readonly ?? false,
            mode: o.mode ?? '9p',
          },
          FLAGS,
        );
        if (o.json) return kit.printJson(list);
        const added = list.shares[list.shares.length - 1];
        if (!added) return;
        kit.writeOut(
          [
            `Shared ${added.config.path} as '${added.config.tag}' (${added.config.mode}, ${added.config.readOnly ? 'read-only' : 'read-write'}).`,
            `In the guest: ${added.mountLine}`,
            ...(added.fstabLine ? [`At every boot, add to /etc/fstab: ${added.fstabLine}`] : []),
          ].join('\n'),
        );
      }),
    );

  sub('list', 'show the shared folders and the line the guest runs for each')
    .alias('ls')
    .argument('<vm>', 'the VM')
    .action(
      run(async (vm: string, o: JsonOpt) => {
        const list = await kit.call('share.list', { vm }, FLAGS);
        if (o.json) return kit.printJson(list);
        kit.writeOut(shareLines(list).join('\n'));
      }),
    );

  sub('rm', 'stop sharing a folder (the folder itself stays)')
    .alias('remove')
    .argument('<vm>', 'the VM')
    .argument('<tag>', 'the share, by its tag')
    .action(
      run(async (vm: string, tag: string, o: JsonOpt) => {
        const list = await kit.call('share.remove', { vm, tag }, { ...FLAGS, tag: 'TAG' });
        if (o.json) return kit.printJson(list);
        kit.writeOut(`Removed the shared folder '${tag}'.`);
      }),
    );

  kit
    .cmd('clipboard', 'turn clipboard sharing on or off (the guest needs spice-vdagent)')
    .argument('<vm>', 'the VM')
    .argument('<state>', 'on or off')
    .action(
      run(async (vm: string, state: string, o: JsonOpt) => {
        if (state !== 'on' && state !== 'off') {
          throw new UsageError(`Say on or off, not "${state}"`);
        }
        const summary = await kit.call('clipboard.set', { vm, on: state === 'on' }, { vm: 'VM' });
        if (o.json) return kit.printJson(summary);
        kit.writeOut(`Clipboard sharing is ${state} for "${summary.name}".`);
      }),
    );
}

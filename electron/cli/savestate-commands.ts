/**
 * Suspend to disk from the command line: `suspend` (a progress bar; Ctrl-C cancels and the VM
 * keeps running), `discard-state`, and `settings` (what happens to running VMs when Vivarium
 * quits).
 */
import { Option } from 'commander';
import {
  ON_QUIT_CHOICES,
  ON_QUIT_LABELS,
  type AppSettings,
  type OnQuit,
  type VmTaskResults,
} from '../../common/contract';
import { formatBytes } from '../../common/format';
import type { CliKit } from './kit';
import { followTask } from './progress';
import { PROG, shellQuote, type JsonOpt } from './output';

/** "2 min ago" for a saved VM's savedAt (the list and the suspend answer). */
export function savedAgo(savedAt: string | null, now = Date.now()): string {
  if (!savedAt) return '';
  const s = Math.max(0, Math.round((now - Date.parse(savedAt)) / 1000));
  if (!Number.isFinite(s)) return '';
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

function settingsLines(s: AppSettings): string {
  return `When Vivarium quits: ${ON_QUIT_LABELS[s.onQuit]} (--on-quit ${s.onQuit})`;
}

export function registerSaveStateCommands(kit: CliKit): void {
  const { cmd, run } = kit;
  const call = kit.call.bind(kit);

  cmd('suspend', 'save a running VM to disk (memory and devices) and end it; start resumes it')
    .argument('<name>')
    .action(
      run(async (ref: string, o: JsonOpt) => {
        const task = await call('vm.suspend', { vm: ref }, { vm: 'NAME' });
        const vm = await followTask<VmTaskResults['vm.suspend']>(kit, task, Boolean(o.json));
        const engine = await kit.engine();
        const done = engine.tasks.get(task.id);
        const bytes = done.bytesTotal;
        if (o.json) {
          return kit.printJson({
            id: vm.id,
            name: vm.name,
            state: vm.runtime.state,
            savedAt: vm.runtime.savedAt,
            stateBytes: bytes,
            dir: vm.dir,
          });
        }
        kit.writeOut(
          `${vm.name} saved to disk${bytes ? ` (${formatBytes(bytes)} of memory)` : ''}: ` +
            `${PROG} start ${shellQuote(vm.name)} resumes it where it was.`,
        );
      }),
    );

  cmd('discard-state', "delete a saved VM's saved state: its next start boots it fresh")
    .argument('<name>')
    .action(
      run(async (ref: string, o: JsonOpt) => {
        const before = await call('vm.get', { vm: ref }, { vm: 'NAME' });
        const vm = await call('vm.discardState', { vm: ref }, { vm: 'NAME' });
        if (o.json) {
          return kit.printJson({
            id: vm.id,
            name: vm.name,
            state: vm.runtime.state,
            discarded: before.runtime.state === 'saved',
          });
        }
        kit.writeOut(
          before.runtime.state === 'saved'
            ? `Discarded the saved state of ${vm.name}: its next start boots it fresh.`
            : `${vm.name} had no saved state (it is ${vm.runtime.state}).`,
        );
      }),
    );

  cmd('settings', "show or change Vivarium's own settings")
    .addOption(
      new Option(
        '--on-quit <what>',
        'what happens to running VMs when Vivarium (the app, or serve) quits',
      ).choices(ON_QUIT_CHOICES),
    )
    .action(
      run(async (o: JsonOpt & { onQuit?: OnQuit }) => {
        const settings =
          o.onQuit !== undefined
            ? await call('settings.update', { onQuit: o.onQuit }, { onQuit: '--on-quit' })
            : await call('settings.get', {});
        if (o.json) return kit.printJson(settings);
        kit.writeOut(settingsLines(settings));
      }),
    );
}

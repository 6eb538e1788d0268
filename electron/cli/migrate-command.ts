/**
 * `vivarium migrate VM --to URL`: moves a running VM to another Vivarium (`vivarium serve` there,
 * its printed URL with the token) while the guest runs, with a progress bar; Ctrl-C cancels and
 * the VM keeps running here.
 */
import type { MigrationResult } from '../../common/contract';
import type { CliKit } from './kit';
import type { JsonOpt } from './output';
import { followTask } from './progress';

interface MigrateOpts extends JsonOpt {
  to: string;
  name?: string;
  deleteSource?: boolean;
}

export function registerMigrateCommand(kit: CliKit): void {
  const { cmd, run } = kit;
  cmd('migrate', 'move a running VM to another Vivarium while it runs (live migration)')
    .argument('<name>', 'the VM')
    .requiredOption(
      '--to <url>',
      'the URL `vivarium serve` printed on the destination (with #token=)',
    )
    .option('--name <new>', 'its name there (when the name is taken)')
    .option('--delete-source', "remove the VM's folder here once it runs there (default: kept)")
    .action(
      run(async (vm: string, o: MigrateOpts) => {
        const task = await kit.call(
          'migration.start',
          {
            vm,
            to: o.to,
            ...(o.name !== undefined ? { name: o.name } : {}),
            deleteSource: Boolean(o.deleteSource),
          },
          { vm: 'NAME', to: '--to', name: '--name' },
        );
        const result = await followTask<MigrationResult>(kit, task, Boolean(o.json));
        if (o.json) return kit.printJson(result);
        const lines = [
          `"${result.name}" now runs on the destination (downtime ${result.downtimeMs} ms, total ${(result.totalMs / 1000).toFixed(1)} s, ${kit.formatBytes(result.transferredBytes)} sent).`,
          result.sourceFolder
            ? `Its folder here was kept: ${result.sourceFolder} (delete it when you no longer need it).`
            : 'Its folder here was deleted.',
        ];
        kit.writeOut(lines.join('\n'));
      }),
    );
}

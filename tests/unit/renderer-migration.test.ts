/** The Migrate dialog's model: the request, the destination shown without its token, progress. */
import { describe, expect, it } from 'vitest';
import type { MigrationProgress, MigrationResult, TaskInfo } from '../../common/contract';
import { migrationMethods } from '../../common/contract';
import { fieldErrors } from '../../common/validation';
import {
  bytesLine,
  destinationShown,
  formatMs,
  migrateRequest,
  migrationDoneMessage,
  migrationProgressOf,
  migrationResultOf,
  phaseStatus,
  rateLine,
} from '../../renderer/src/lib/migration';

const MiB = 1024 * 1024;

const progress: MigrationProgress = {
  phase: 'memory',
  disk: { transferred: 64 * MiB, remaining: 0, total: 64 * MiB },
  ram: { transferred: 100 * MiB, remaining: 28 * MiB, total: 128 * MiB },
  dirtyBytesPerSecond: 2 * MiB,
  expectedDowntimeMs: 12,
  iterations: 2,
};

const result: MigrationResult = {
  vmId: 'abc',
  name: 'there',
  downtimeMs: 29,
  totalMs: 1600,
  transferredBytes: 90 * MiB,
  qemuDowntimeMs: 54,
  sourceFolder: '/home/u/vms/abc',
};

function task(extra: Partial<TaskInfo>): Pick<TaskInfo, 'detail' | 'result' | 'state'> {
  return { state: 'running', result: null, ...extra };
}

describe('the request', () => {
  it('trims what was typed and leaves an empty name out', () => {
    expect(
      migrateRequest('vm1', { to: ' http://h:1/#token=t ', name: '  ', deleteSource: false }),
    ).toEqual({ vm: 'vm1', to: 'http://h:1/#token=t', deleteSource: false });
    expect(migrateRequest('vm1', { to: 'u', name: ' New ', deleteSource: true })).toEqual({
      vm: 'vm1',
      to: 'u',
      name: 'New',
      deleteSource: true,
    });
  });

  it('is checked by the contract’s own schema: a URL without its token is refused', () => {
    const bad = migrationMethods['migration.start'].safeParse(
      migrateRequest('vm1', { to: 'http://127.0.0.1:8765/', name: '', deleteSource: false }),
    );
    expect(bad.success).toBe(false);
    if (!bad.success) expect(fieldErrors(bad.error.issues)['to']).toMatch(/token/);
    const good = migrationMethods['migration.start'].safeParse(
      migrateRequest('vm1', {
        to: 'http://127.0.0.1:8765/#token=abc',
        name: '',
        deleteSource: false,
      }),
    );
    expect(good.success).toBe(true);
  });

  it('shows the destination without its token', () => {
    expect(destinationShown('http://192.168.1.20:8765/#token=secret')).toBe(
      'http://192.168.1.20:8765',
    );
    expect(destinationShown('http://h:1/?token=secret')).toBe('http://h:1');
    expect(destinationShown('not a url')).toBeNull();
  });
});

describe('progress and result out of the task', () => {
  it('reads the progress detail, and nothing from a malformed or missing one', () => {
    expect(migrationProgressOf(task({ detail: progress }))).toEqual(progress);
    expect(migrationProgressOf(task({}))).toBeNull();
    expect(
      migrationProgressOf(task({ detail: { phase: 'warp', disk: progress.disk } })),
    ).toBeNull();
    expect(
      migrationProgressOf(task({ detail: { phase: 'disks', disk: { total: 1 } } })),
    ).toBeNull();
    const early = migrationProgressOf(
      task({ detail: { phase: 'prepare', disk: progress.disk, ram: null, iterations: 0 } }),
    );
    expect(early).toMatchObject({ phase: 'prepare', ram: null, expectedDowntimeMs: null });
  });

  it('reads the figures of a finished migration only', () => {
    expect(migrationResultOf(task({ state: 'succeeded', result }))).toEqual(result);
    expect(migrationResultOf(task({ state: 'failed', result }))).toBeNull();
    expect(migrationResultOf(task({ state: 'succeeded', result: { vmId: 'x' } }))).toBeNull();
    expect(
      migrationResultOf(
        task({
          state: 'succeeded',
          result: { ...result, qemuDowntimeMs: undefined, sourceFolder: null },
        }),
      ),
    ).toMatchObject({ qemuDowntimeMs: null, sourceFolder: null });
  });

  it('words the end of a migration for its notification, and nothing for other tasks', () => {
    expect(migrationDoneMessage({ kind: 'migration.start', state: 'succeeded', result })).toBe(
      '“there” runs on the destination: downtime 29 ms, total 1.6 s.',
    );
    expect(migrationDoneMessage({ kind: 'vm.suspend', state: 'succeeded', result })).toBeNull();
    expect(migrationDoneMessage({ kind: 'migration.start', state: 'failed', result })).toBeNull();
  });

  it('marks the phases before, at and after the current one', () => {
    expect(phaseStatus('memory', 'prepare')).toBe('done');
    expect(phaseStatus('memory', 'disks')).toBe('done');
    expect(phaseStatus('memory', 'memory')).toBe('now');
    expect(phaseStatus('memory', 'switchover')).toBe('next');
  });
});

describe('words and numbers', () => {
  it('says bytes copied, total and left', () => {
    expect(bytesLine(progress.ram)).toBe('100 MiB of 128 MiB (28.0 MiB left)');
    expect(bytesLine({ transferred: 0, remaining: 0, total: 0 })).toBe('Nothing to copy');
    expect(bytesLine(null)).toBe('—');
  });

  it('counts memory copied from what is left, and says what was sent when that differs', () => {
    const MiB = 1024 ** 2;
    // QEMU's figures in the first pass of an idle guest: mostly zero pages.
    const ram = { transferred: 6.6 * MiB, remaining: 122 * MiB, total: 145 * MiB };
    expect(bytesLine(ram)).toBe('23.0 MiB of 145 MiB (122 MiB left) · 6.6 MiB sent');
    // A guest dirtying memory: pages go more than once.
    expect(bytesLine({ transferred: 300 * MiB, remaining: 0, total: 145 * MiB })).toBe(
      '145 MiB of 145 MiB (0 B left) · 300 MiB sent',
    );
  });

  it('gives downtimes in ms and longer times in s or min', () => {
    expect(formatMs(4.4)).toBe('4 ms');
    expect(formatMs(999)).toBe('999 ms');
    expect(formatMs(1600)).toBe('1.6 s');
    expect(formatMs(125_000)).toBe('2 min 05 s');
    expect(formatMs(-3)).toBe('0 ms');
  });

  it('gives the dirty rate per second, or says it is not measured', () => {
    expect(rateLine(2 * MiB)).toBe('2.0 MiB/s');
    expect(rateLine(null)).toBe('not measured yet');
  });
});

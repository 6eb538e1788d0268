/**
 * The intent journal's claims (electron/engine/library/intents.ts) and the folder sweep
 * (library/orphans.ts): an operation whose process still runs is never recovered nor its folder
 * moved; one whose process is gone (or whose pid now names another process) is claimed by
 * exactly one engine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IntentJournal, processStartTime } from '../../electron/engine/library/intents';
import { setAsideOrphans } from '../../electron/engine/library/orphans';
import { enginePaths } from '../../electron/engine/paths';
import { tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
const sleeper = spawn('sleep', ['30']);
beforeAll(async () => {
  home = await tempHome('viv-intents-');
});
afterAll(async () => {
  sleeper.kill();
  await home.remove();
});

/** Rewrites a record as if another process (pid, start time) had written it. */
async function ownedBy(file: string, pid: number, pidStart: string | null): Promise<void> {
  const record = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, JSON.stringify({ ...record, pid, pidStart }));
}

it('claims only the records of processes that are gone, each once', async () => {
  const journal = new IntentJournal(join(home.dir, 'journal'));
  const live = await journal.begin('vm.create', { vmIds: ['a'], paths: [], data: {} });
  const dead = await journal.begin('vm.create', { vmIds: ['b'], paths: [], data: {} });
  const reused = await journal.begin('vm.create', { vmIds: ['c'], paths: [], data: {} });
  const sleeperPid = sleeper.pid ?? 0;
  await ownedBy(live.file, sleeperPid, processStartTime(sleeperPid));
  await ownedBy(dead.file, spawnSync('true').pid, null);
  // The pid runs, but it started at another time: not the writer.
  await ownedBy(reused.file, sleeperPid, '1');

  const claimed = await journal.claimInterrupted();
  expect(claimed.map((c) => c.record.vmIds[0]).sort()).toEqual(['b', 'c']);
  expect(await journal.claimInterrupted(), 'a claim by a live engine is not taken').toEqual([]);
  expect(existsSync(live.file), "the live writer's record stays").toBe(true);
});

it('leaves a folder without vm.json alone while its operation runs, and moves it once nothing explains it', async () => {
  const paths = enginePaths(join(home.dir, 'lib'));
  await mkdir(paths.vmsDir, { recursive: true });
  const journal = new IntentJournal(join(paths.home, 'journal'));
  const dir = join(paths.vmsDir, 'bbbbbbbbbbbb');
  const intent = await journal.begin('vm.create', {
    vmIds: ['bbbbbbbbbbbb'],
    paths: [dir],
    data: {},
  });
  await mkdir(dir);
  await writeFile(join(dir, 'disk0.qcow2'), 'data');
  expect(await setAsideOrphans(paths, () => journal.all())).toEqual([]);
  expect(existsSync(dir)).toBe(true);

  await intent.discard();
  const moved = await setAsideOrphans(paths, () => journal.all());
  expect(moved).toHaveLength(1);
  expect(existsSync(dir)).toBe(false);
  expect(await readdir(moved[0] ?? '')).toEqual(['disk0.qcow2']);
});

it('removes what a killed delete left (its folder already out of the library), not a live one', async () => {
  const paths = enginePaths(join(home.dir, 'del'));
  const deadPid = spawnSync('true').pid;
  const killed = join(paths.vmsDir, `.deleting-cccccccccccc-${deadPid}`);
  const running = join(paths.vmsDir, `.deleting-dddddddddddd-${sleeper.pid ?? 0}`);
  await mkdir(killed, { recursive: true });
  await mkdir(running, { recursive: true });
  await setAsideOrphans(paths, () => Promise.resolve([]));
  expect(existsSync(killed)).toBe(false);
  expect(existsSync(running)).toBe(true);
});

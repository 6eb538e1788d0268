/**
 * What an outgoing migration leaves in the source's QEMU when the process driving it dies (a
 * kill -9, a crash, a closed laptop lid): a migration still sending, disk mirrors to a destination
 * that gave up (an idle disk's mirror never fails on its own: it waits READY forever), their NBD
 * client nodes, the TLS credentials object, the key's folder. Cleared by the next process that
 * claims the VM's migration, so the VM can be migrated (or saved) again without a restart.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { QmpRunner } from './blockers';

/** Node names, job ids and key folders of outgoing migrations start with this. */
export const MIGRATION_PREFIX = 'mig-';
/** The TLS credentials objects' ids start with this (see psk.ts). */
const CREDS_PREFIX = 'mig-tls-';
/** query-migrate's statuses of a migration under way. */
export const MIGRATING: ReadonlySet<string> = new Set([
  'setup',
  'active',
  'pre-switchover',
  'device',
  'wait-unplug',
]);
const SETTLE_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Clears the leftovers; returns what it found, in words (empty: there were none). */
export async function clearMigrationLeftovers(qmp: QmpRunner, runDir: string): Promise<string[]> {
  const found: string[] = [];
  const status = (await qmp.execute<{ status?: string }>('query-migrate')).status;
  if (status && MIGRATING.has(status)) {
    found.push(`a migration still ${status}`);
    await qmp.execute('migrate_cancel');
    await until(async () => {
      const now = (await qmp.execute<{ status?: string }>('query-migrate')).status;
      return !now || !MIGRATING.has(now);
    });
  }
  const jobs = (await qmp.execute<Array<{ device: string }>>('query-block-jobs')).filter((j) =>
    j.device.startsWith(MIGRATION_PREFIX),
  );
  for (const job of jobs) {
    found.push(`the disk mirror ${job.device}`);
    await qmp.execute('block-job-cancel', { device: job.device, force: true }).catch(() => {});
  }
  if (jobs.length) {
    await until(async () => {
      const left = await qmp.execute<Array<{ device: string }>>('query-block-jobs');
      return !left.some((j) => j.device.startsWith(MIGRATION_PREFIX));
    });
  }
  const nodes = await qmp.execute<Array<{ 'node-name': string }>>('query-named-block-nodes', {
    flat: true,
  });
  for (const n of nodes) {
    const name = n['node-name'];
    if (!name.startsWith(MIGRATION_PREFIX)) continue;
    found.push(`the NBD node ${name}`);
    await qmp.execute('blockdev-del', { 'node-name': name }).catch(() => {});
  }
  const objects = await qmp.execute<Array<{ name: string }>>('qom-list', { path: '/objects' });
  for (const o of objects) {
    if (!o.name.startsWith(CREDS_PREFIX)) continue;
    found.push(`the TLS credentials ${o.name}`);
    await qmp.execute('object-del', { id: o.name }).catch(() => {});
  }
  for (const entry of await readdir(runDir).catch(() => [])) {
    if (entry.startsWith(MIGRATION_PREFIX)) {
      await rm(join(runDir, entry), { recursive: true, force: true });
    }
  }
  return found;
}

async function until(done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  while (!(await done()) && Date.now() < deadline) await sleep(20);
}

/**
 * The client's framing against a scripted agent on a raw unix socket: stale bytes and garbage
 * before the 0xFF sentinel, replies split across writes, commands the real agent must not run
 * on this host (freeze, thaw, shutdown), and an agent that never answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  AgentReader,
  parseInterfaces,
  withFrozenFilesystems,
  withGuestAgent,
} from '../../electron/engine/guest-agent/client';

const work = mkdtempSync(join(tmpdir(), 'qga-frame-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

let n = 0;
type Handler = (request: Record<string, unknown>, s: Socket) => void;

/** A scripted agent: answers sync-delimited after `garbage`, and hands other requests over. */
async function scriptedAgent(handler: Handler, garbage = ''): Promise<string> {
  const path = join(work, `a${String(n++)}.sock`);
  const server = createServer((s) => {
    let buf = '';
    s.on('data', (b: Buffer) => {
      buf += b.toString('latin1').replace(/\xff/g, '');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const req = JSON.parse(line) as { execute: string; arguments?: { id?: number } };
        if (req.execute === 'guest-sync-delimited') {
          const reply = Buffer.from(`\xff{"return": ${String(req.arguments?.id)}}\n`, 'latin1');
          // Stale replies and junk first, the sync reply in two pieces.
          s.write(Buffer.from(garbage, 'latin1'));
          s.write(reply.subarray(0, 5));
          setTimeout(() => s.write(reply.subarray(5)), 10);
        } else handler(req, s);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, r));
  return path;
}

describe('AgentReader', () => {
  it('drops everything before the sync reply, however the bytes are split', () => {
    const id = 987654;
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
        (junk, cuts) => {
          const stream = Buffer.concat([
            Buffer.from(junk.replace(/\xff/g, ''), 'utf8'),
            Buffer.from('{"return": {}}\n\xff{"return": 1}\n\xff{"return": 987654}\n', 'latin1'),
            Buffer.from('{"return": "a"}\n{"return": {"b": [1]}}\n', 'utf8'),
          ]);
          const reader = new AgentReader(id);
          const replies: unknown[] = [];
          let at = 0;
          for (const c of [...cuts, stream.length]) {
            replies.push(...reader.push(stream.subarray(at, at + c)));
            at += c;
            if (at >= stream.length) break;
          }
          if (at < stream.length) replies.push(...reader.push(stream.subarray(at)));
          expect(reader.isSynced).toBe(true);
          expect(replies).toEqual([{ return: 'a' }, { return: { b: [1] } }]);
        },
      ),
    );
  });
});

describe('guest agent client framing', () => {
  it('syncs past garbage and stale replies, then answers commands in order', async () => {
    const path = await scriptedAgent((req, s) => {
      if (req.execute === 'guest-ping') s.write('{"return": {}}\n');
      if (req.execute === 'guest-get-osinfo') {
        const body =
          '{"return": {"id": "alpine", "pretty-name": "Alpine Linux v3.22", "kernel-release": "6.12.1-0-virt"}}\n';
        s.write(body.slice(0, 20));
        setTimeout(() => s.write(body.slice(20)), 20);
      }
    }, 'garbage {"return": {}}\n{"error": {"class": "GenericError", "desc": "x"}}\n\xff{"return": 5}\n');
    const os = await withGuestAgent(path, async (a) => {
      await a.ping();
      return a.osInfo();
    });
    expect(os).toEqual({
      name: null,
      prettyName: 'Alpine Linux v3.22',
      version: null,
      id: 'alpine',
      kernelRelease: '6.12.1-0-virt',
    });
  });

  it('freezes and thaws, returning counts, and thaws when the work fails', async () => {
    const calls: string[] = [];
    const path = await scriptedAgent((req, s) => {
      calls.push(req.execute as string);
      if (req.execute === 'guest-fsfreeze-freeze') s.write('{"return": 3}\n');
      if (req.execute === 'guest-fsfreeze-thaw') s.write('{"return": 3}\n');
      if (req.execute === 'guest-fsfreeze-status') s.write('{"return": "frozen"}\n');
    });
    const thawed = await withGuestAgent(path, async (a) => {
      expect(await a.fsfreezeFreeze()).toBe(3);
      expect(await a.fsfreezeStatus()).toBe('frozen');
      return a.fsfreezeThaw();
    });
    expect(thawed).toBe(3);
    await expect(
      withGuestAgent(path, (a) =>
        withFrozenFilesystems(a, () => Promise.reject(new Error('snapshot failed'))),
      ),
    ).rejects.toThrow('snapshot failed');
    expect(calls.slice(-2)).toEqual(['guest-fsfreeze-freeze', 'guest-fsfreeze-thaw']);
  });

  it('resolves a shutdown when the agent closes, and when it says nothing', async () => {
    const closing = await scriptedAgent((req, s) => {
      expect(req).toEqual({ execute: 'guest-shutdown', arguments: { mode: 'reboot' } });
      s.destroy();
    });
    await withGuestAgent(closing, (a) => a.shutdown('reboot'));
    const silent = await scriptedAgent(() => undefined);
    const t0 = Date.now();
    await withGuestAgent(silent, (a) => a.shutdown());
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('times out a command the agent never answers, and says so', async () => {
    const path = await scriptedAgent(() => undefined);
    await expect(
      withGuestAgent(path, (a) => a.execute('guest-info', undefined, 200)),
    ).rejects.toThrow(/did not answer guest-info in time/);
  });

  it('says the agent is not running when nothing answers the sync', async () => {
    const path = join(work, 'mute.sock');
    // Reads (so it sees the client leave) and never answers.
    const server = createServer((s) => s.resume());
    servers.push(server);
    await new Promise<void>((r) => server.listen(path, r));
    await expect(withGuestAgent(path, (a) => a.ping(), { timeoutMs: 300 })).rejects.toThrow(
      /guest agent is not running in the guest: install qemu-guest-agent/,
    );
  });
});

describe('parseInterfaces', () => {
  it('keeps reachable addresses, IPv4 first, and drops interfaces without any', () => {
    const raw = [
      {
        name: 'lo',
        'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 }],
      },
      {
        name: 'enp0s3',
        'hardware-address': '52:54:00:12:34:56',
        'ip-addresses': [
          { 'ip-address-type': 'ipv6', 'ip-address': 'fec0::5054:ff:fe12:3456', prefix: 64 },
          { 'ip-address-type': 'ipv6', 'ip-address': 'fe80::5054:ff:fe12:3456', prefix: 64 },
          { 'ip-address-type': 'ipv4', 'ip-address': '10.0.2.15', prefix: 24 },
          { 'ip-address-type': 'ipv4', 'ip-address': '169.254.3.4', prefix: 16 },
        ],
      },
      { name: 'docker0', 'hardware-address': '02:42:00:00:00:00' },
    ];
    expect(parseInterfaces(raw)).toEqual([
      {
        name: 'enp0s3',
        hardwareAddress: '52:54:00:12:34:56',
        addresses: [
          { family: 'ipv4', address: '10.0.2.15', prefix: 24 },
          { family: 'ipv6', address: 'fec0::5054:ff:fe12:3456', prefix: 64 },
        ],
      },
    ]);
    expect(parseInterfaces({ not: 'a list' })).toEqual([]);
  });
});

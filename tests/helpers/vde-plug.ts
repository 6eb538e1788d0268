/**
 * A raw port on a private network's switch, for tests that look at layer 2 without a guest:
 * `vde_plug DIR` (from vde2) joins the switch and carries its frames on stdin/stdout, each
 * prefixed with its length (2 bytes, big-endian).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export class VdePlug {
  readonly frames: Buffer[] = [];
  private pending = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 2) {
        const len = this.pending.readUInt16BE(0);
        if (this.pending.length < 2 + len) break;
        this.frames.push(this.pending.subarray(2, 2 + len));
        this.pending = this.pending.subarray(2 + len);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(switchDir: string): Promise<VdePlug> {
    const child = spawn('vde_plug', [switchDir], { stdio: 'pipe' });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    // vde_plug has joined once the switch has seen it: give it a moment before sending.
    await new Promise((r) => setTimeout(r, 300));
    if (child.exitCode !== null) throw new Error(`vde_plug ${switchDir} exited ${child.exitCode}`);
    return new VdePlug(child);
  }

  send(frame: Buffer): void {
    const head = Buffer.alloc(2);
    head.writeUInt16BE(frame.length);
    this.child.stdin.write(Buffer.concat([head, frame]));
  }

  /** The first frame (seen so far or within `timeoutMs`) that `match` accepts, or null. */
  async waitFor(match: (frame: Buffer) => boolean, timeoutMs: number): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.child.kill();
  }
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A DHCPDISCOVER from `mac`, broadcast, as a client without an address sends it. */
export function dhcpDiscover(mac: string, xid: number): Buffer {
  const bootp = Buffer.alloc(240 + 4);
  bootp[0] = 1; // request
  bootp[1] = 1; // ethernet
  bootp[2] = 6;
  bootp.writeUInt32BE(xid, 4);
  bootp.writeUInt16BE(0x8000, 10); // answer by broadcast
  macBytes(mac).copy(bootp, 28);
  bootp.writeUInt32BE(0x63825363, 236);
  bootp.set([53, 1, 1, 255], 240); // DHCPDISCOVER, end
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(68, 0);
  udp.writeUInt16BE(67, 2);
  udp.writeUInt16BE(8 + bootp.length, 4); // checksum 0: none, which IPv4 allows
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + bootp.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip.writeUInt32BE(0xffffffff, 16);
  ip.writeUInt16BE(ipv4Checksum(ip), 10);
  const eth = Buffer.concat([Buffer.alloc(6, 0xff), macBytes(mac), Buffer.from([0x08, 0x00])]);
  return Buffer.concat([eth, ip, udp, bootp]);
}

export interface DhcpReply {
  xid: number;
  type: number;
  yourAddress: string;
  serverId: string | null;
  router: string | null;
}

const dotted = (b: Buffer, at: number): string => [...b.subarray(at, at + 4)].join('.');

/** A DHCP reply in an Ethernet frame, or null when the frame is something else. */
export function parseDhcpReply(frame: Buffer): DhcpReply | null {
  if (frame.length < 14 + 20 + 8 + 240 || frame.readUInt16BE(12) !== 0x0800) return null;
  const ip = 14;
  if (frame[ip + 9] !== 17) return null;
  const udp = ip + ((frame[ip] ?? 0) & 0x0f) * 4;
  if (frame.readUInt16BE(udp) !== 67 || frame.readUInt16BE(udp + 2) !== 68) return null;
  const bootp = udp + 8;
  const out: DhcpReply = {
    xid: frame.readUInt32BE(bootp + 4),
    type: 0,
    yourAddress: dotted(frame, bootp + 16),
    serverId: null,
    router: null,
  };
  for (let at = bootp + 240; at < frame.length;) {
    const code = frame[at] ?? 255;
    if (code === 255) break;
    if (code === 0) {
      at++;
      continue;
    }
    const len = frame[at + 1] ?? 0;
    if (code === 53) out.type = frame[at + 2] ?? 0;
    if (code === 54) out.serverId = dotted(frame, at + 2);
    if (code === 3) out.router = dotted(frame, at + 2);
    at += 2 + len;
  }
  return out;
}

/** A broadcast frame of the local experimental ethertype carrying `text`. */
export function helloFrame(mac: string, text: string): Buffer {
  return Buffer.concat([
    Buffer.alloc(6, 0xff),
    macBytes(mac),
    Buffer.from([0x88, 0xb5]),
    Buffer.from(text.padEnd(46, '\0')),
  ]);
}

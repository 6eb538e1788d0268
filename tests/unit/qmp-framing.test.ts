import { describe, expect, it } from 'vitest';
import { LineFramer, QmpFramingError, parseQmpMessage } from '../../electron/engine/qmp/framing';

// What QEMU 7.2 actually sends (recorded here): "\r\n" after every message.
const GREETING =
  '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}';
const RETURN =
  '{"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": 2}';
const ERROR =
  '{"id": 3, "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}';
const EVENT =
  '{"timestamp": {"seconds": 1795371876, "microseconds": 499491}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}';
const UNICODE = '{"return": "état ✓ 𝄞 ünïcödé", "id": 4}';
const MESSAGES = [GREETING, RETURN, ERROR, EVENT, UNICODE];
const STREAM = Buffer.from(MESSAGES.map((m) => m + '\r\n').join(''), 'utf8');

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function feed(chunks: Uint8Array[] | string[]): string[] {
  const framer = new LineFramer();
  const out: string[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  expect(framer.pending).toBe('');
  return out;
}

describe('LineFramer', () => {
  it('splits one chunk holding several messages', () => {
    expect(feed([STREAM])).toEqual(MESSAGES);
  });

  it('reassembles a stream split at every byte offset (two chunks)', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      expect(feed([STREAM.subarray(0, i), STREAM.subarray(i)])).toEqual(MESSAGES);
    }
  });

  it('reassembles a stream split at every pair of offsets (three chunks), incl. inside UTF-8', () => {
    // Every cut inside the multi-byte characters of the last message, combined with every cut
    // before it.
    const tail = STREAM.length - Buffer.byteLength(UNICODE + '\r\n');
    for (let i = 0; i <= STREAM.length; i += 7) {
      for (let j = Math.max(i, tail); j <= STREAM.length; j++) {
        const got = feed([STREAM.subarray(0, i), STREAM.subarray(i, j), STREAM.subarray(j)]);
        expect(got).toEqual(MESSAGES);
      }
    }
  });

  it('survives byte-at-a-time delivery', () => {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < STREAM.length; i++) chunks.push(STREAM.subarray(i, i + 1));
    expect(feed(chunks)).toEqual(MESSAGES);
  });

  it('survives random chunking (seeded)', () => {
    const big = Buffer.concat(Array.from({ length: 50 }, () => STREAM));
    const expected = Array.from({ length: 50 }, () => MESSAGES).flat();
    for (let seed = 1; seed <= 200; seed++) {
      const rand = rng(seed);
      const chunks: Uint8Array[] = [];
      for (let pos = 0; pos < big.length;) {
        const len = 1 + Math.floor(rand() * 300);
        chunks.push(big.subarray(pos, pos + len));
        pos += len;
      }
      expect(feed(chunks)).toEqual(expected);
    }
  });

  it('splits between "\\r" and "\\n"', () => {
    const framer = new LineFramer();
    expect(framer.push(RETURN + '\r')).toEqual([]);
    expect(framer.push('\n' + EVENT + '\r\n')).toEqual([RETURN, EVENT]);
  });

  it('accepts bare "\\n", skips blank lines and keeps a partial message', () => {
    const framer = new LineFramer();
    expect(framer.push('\n\r\n' + RETURN + '\n\n' + EVENT.slice(0, 10))).toEqual([RETURN]);
    expect(framer.pending).toBe(EVENT.slice(0, 10));
    expect(framer.push(EVENT.slice(10) + '\n')).toEqual([EVENT]);
    expect(framer.pending).toBe('');
  });

  it('refuses a message longer than the limit, with or without a newline', () => {
    expect(() => new LineFramer(16).push('x'.repeat(17))).toThrow(QmpFramingError);
    expect(() => new LineFramer(16).push('x'.repeat(17) + '\n')).toThrow(QmpFramingError);
    const f = new LineFramer(16);
    f.push('x'.repeat(10));
    expect(() => f.push('y'.repeat(10) + '\n')).toThrow(QmpFramingError);
    expect(new LineFramer(16).push('x'.repeat(16) + '\r\n')).toEqual(['x'.repeat(16)]);
  });
});

describe('parseQmpMessage', () => {
  it('reads the greeting', () => {
    expect(parseQmpMessage(GREETING)).toEqual({
      kind: 'greeting',
      greeting: {
        QMP: {
          version: {
            qemu: { major: 7, minor: 2, micro: 22 },
            package: 'Debian 1:7.2+dfsg-7+deb12u18+b3',
          },
          capabilities: ['oob'],
        },
      },
    });
  });

  it('reads replies with their ids', () => {
    expect(parseQmpMessage(RETURN)).toEqual({
      kind: 'return',
      id: 2,
      value: { status: 'prelaunch', singlestep: false, running: false },
    });
    expect(parseQmpMessage('{"return": {}}')).toEqual({ kind: 'return', id: undefined, value: {} });
    expect(parseQmpMessage('{"return": null, "id": "a"}')).toEqual({
      kind: 'return',
      id: 'a',
      value: null,
    });
  });

  it('reads structured errors (class and desc)', () => {
    expect(parseQmpMessage(ERROR)).toEqual({
      kind: 'error',
      id: 3,
      errorClass: 'CommandNotFound',
      desc: 'The command nope has not been found',
    });
    // A parse error from QEMU carries no id.
    expect(
      parseQmpMessage('{"error": {"class": "GenericError", "desc": "JSON parse error"}}'),
    ).toEqual({
      kind: 'error',
      id: undefined,
      errorClass: 'GenericError',
      desc: 'JSON parse error',
    });
  });

  it('reads events, with and without data', () => {
    expect(parseQmpMessage(EVENT)).toEqual({
      kind: 'event',
      event: {
        event: 'SHUTDOWN',
        data: { guest: false, reason: 'host-qmp-quit' },
        timestamp: { seconds: 1795371876, microseconds: 499491 },
      },
    });
    expect(
      parseQmpMessage('{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}'),
    ).toEqual({
      kind: 'event',
      event: { event: 'STOP', timestamp: { seconds: 1, microseconds: 2 } },
    });
  });

  it('classifies anything else as invalid without throwing', () => {
    for (const line of [
      'garbage',
      '[1,2]',
      '42',
      'null',
      '{"foo": 1}',
      '{"error": "x"}',
      '{"QMP": {}}',
    ]) {
      expect(parseQmpMessage(line).kind).toBe('invalid');
    }
  });
});

import { describe, expect, it } from 'vitest';
import { balloonDriver } from '../../common/rules/balloon';
import { shellCommand, shellQuote } from '../../electron/engine/stats/cmdline';
import { appendSample, emptyHistory, mergeHistories } from '../../common/stats-history';
import type { VmStatsSample } from '../../common/contract';
import { StatsRing, type HistoryPoint } from '../../electron/engine/stats/history';
import { cpuBetween, parseThpMode } from '../../electron/engine/stats/host-stats';
import { kbField, parseStat } from '../../electron/engine/stats/proc';

function point(cpu: number | null, perVcpu: (number | null)[] = []): HistoryPoint {
  return {
    perVcpu,
    cpuPercent: cpu,
    vcpuPercent: null,
    rssBytes: 1024,
    guestAvailableBytes: null,
    balloonBytes: null,
    diskReadBytesPerSec: 0,
    diskWriteBytesPerSec: 0,
    netRxBytesPerSec: null,
    netTxBytesPerSec: null,
  };
}

describe('statistics, pure parts', () => {
  it('reads CPU ticks, threads and start time from a stat line whose name has spaces and parens', () => {
    const line =
      '4242 (qemu-a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 123456 1000 200 ...';
    expect(parseStat(line)).toEqual({ cpuTicks: 300, threads: 7, startTicks: 123456 });
    expect(parseStat('garbage')).toBeNull();
  });

  it('reads kB fields as bytes', () => {
    expect(kbField('Rss:   2048 kB\nPss:    1024 kB\n', 'Pss')).toBe(1024 * 1024);
    expect(kbField('Rss: 1 kB', 'Pss')).toBeNull();
  });

  it('takes the bracketed THP mode and bounds host CPU percent', () => {
    expect(parseThpMode('always [madvise] never\n')).toBe('madvise');
    expect(cpuBetween({ busy: 0, total: 0 }, { busy: 50, total: 200 })).toBe(25);
    expect(cpuBetween({ busy: 0, total: 10 }, { busy: 0, total: 10 })).toBeNull();
  });

  it('quotes a command line so a POSIX shell gives back the same words', () => {
    expect(shellQuote('-m')).toBe('-m');
    expect(shellQuote('{"driver":"x"}')).toBe(`'{"driver":"x"}'`);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
    expect(shellCommand(['/usr/bin/qemu', '-m', '256M', '-S'])).toBe(
      '/usr/bin/qemu \\\n  -m 256M \\\n  -S',
    );
  });

  it('keeps the newest points of a fixed ring, oldest first, with gaps as null', () => {
    const ring = new StatsRing(3);
    const bytes = ring.bytes;
    for (let i = 1; i <= 5; i++) ring.push(i * 1000, point(i === 4 ? null : i));
    expect(ring.bytes).toBe(bytes);
    const all = ring.window('vm', 0);
    expect(all.t).toEqual([3000, 4000, 5000]);
    expect(all.series.cpuPercent).toEqual([3, null, 5]);
    expect(ring.window('vm', 4500).t).toEqual([5000]);
  });

  it('keeps each vCPU as its own series, gaps before a vCPU first reported as null', () => {
    const ring = new StatsRing(4);
    ring.push(1000, point(10, [5]));
    ring.push(2000, point(20, [7, 9]));
    ring.push(3000, point(30, [null, 4]));
    const all = ring.window('vm', 0);
    expect(all.perVcpu).toEqual([
      [5, 7, null],
      [null, 9, 4],
    ]);
    expect(ring.window('vm', 2500).perVcpu).toEqual([[null], [4]]);
    expect(ring.bytes).toBe(4 * 8 + (9 + 2) * 4 * 4);
  });

  it('appends a live sample to a history by the engine’s own rule, dropping what aged out', () => {
    const sample = (t: number, cpu: number | null, vcpus: number[]): VmStatsSample => ({
      vmId: 'vm',
      name: 'vm',
      t,
      pid: 1,
      cpuPercent: cpu,
      vcpuPercent: vcpus,
      threads: 4,
      uptimeSeconds: 1,
      rssBytes: 100,
      pssBytes: null,
      guest: { available: false, reason: 'none' },
      balloon: { actualBytes: 64, maxBytes: 128 },
      disk: {
        readBytes: 0,
        writeBytes: 0,
        readOps: 0,
        writeOps: 0,
        readBytesPerSec: 1,
        writeBytesPerSec: 2,
      },
      net: { available: false, reason: 'nat' },
    });
    let h = appendSample(emptyHistory('vm'), sample(1000, null, []), 10);
    expect(h.t).toEqual([]);
    h = appendSample(h, sample(2000, 50, [30]), 10);
    h = appendSample(h, sample(4000, 80, [30, 40]), 10);
    expect(appendSample(h, sample(4000, 90, [1, 1]), 10)).toBe(h);
    expect(h.series.vcpuPercent).toEqual([30, 70]);
    expect(h.series.balloonBytes).toEqual([64, 64]);
    expect(h.perVcpu).toEqual([
      [30, 30],
      [null, 40],
    ]);
    h = appendSample(h, sample(13_000, 10, [5, 5]), 10);
    expect(h.t).toEqual([4000, 13_000]);
    expect(h.series.cpuPercent).toEqual([80, 10]);
    expect(h.perVcpu).toEqual([
      [30, 5],
      [40, 5],
    ]);
  });

  it('merges two windows of one VM into one, each point once and in time order', () => {
    const at = (ts: number[], cpu: number[], vcpu: number[]) => {
      const h = emptyHistory('vm');
      return {
        ...h,
        t: ts,
        series: Object.fromEntries(
          Object.keys(h.series).map((k) => [k, k === 'cpuPercent' ? cpu : ts.map(() => null)]),
        ) as typeof h.series,
        perVcpu: [vcpu],
      };
    };
    const merged = mergeHistories(
      at([1, 2, 3], [10, 20, 30], [1, 2, 3]),
      at([3, 4], [31, 40], [3, 4]),
    );
    expect(merged.t).toEqual([1, 2, 3, 4]);
    expect(merged.series.cpuPercent).toEqual([10, 20, 30, 40]);
    expect(merged.perVcpu).toEqual([[1, 2, 3, 4]]);
  });

  it('knows which guests have a balloon driver', () => {
    expect(balloonDriver('linux')).toBe('built-in');
    expect(balloonDriver('windows')).toBe('virtio-win');
    expect(balloonDriver('dos')).toBe('none');
  });
});

import { describe, expect, it } from 'vitest';
import { balloonDriver } from '../../common/rules/balloon';
import { shellCommand, shellQuote } from '../../electron/engine/stats/cmdline';
import { StatsRing, type HistoryPoint } from '../../electron/engine/stats/history';
import { cpuBetween, parseThpMode } from '../../electron/engine/stats/host-stats';
import { kbField, parseStat } from '../../electron/engine/stats/proc';

function point(cpu: number | null): HistoryPoint {
  return {
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

  it('knows which guests have a balloon driver', () => {
    expect(balloonDriver('linux')).toBe('built-in');
    expect(balloonDriver('windows')).toBe('virtio-win');
    expect(balloonDriver('dos')).toBe('none');
  });
});

/**
 * Formatting every front door shares (the renderer, the CLI, engine messages): one rounding for
 * sizes and durations, so a VM's memory reads the same in a table, a card and an error.
 */
import { ACCELERATOR_LABELS } from './labels';

/** Whole GiB as "2 GiB", anything else as MiB ("1536 MiB"): exact, for configs and messages. */
export function formatMiB(mib: number): string {
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

/** Rounded for reading: "2 GiB", "1.5 GiB", "512 MiB". */
export function formatMemory(mib: number): string {
  if (mib >= 1024 && mib % 1024 === 0) return `${mib / 1024} GiB`;
  if (mib >= 1024) return `${(mib / 1024).toFixed(1)} GiB`;
  return `${mib} MiB`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

const OS_NAMES: Record<string, string> = {
  generic: 'Generic',
  linux: 'Linux',
  debian: 'Debian',
  ubuntu: 'Ubuntu',
  fedora: 'Fedora',
  alpine: 'Alpine Linux',
  arch: 'Arch Linux',
  windows: 'Windows',
  freebsd: 'FreeBSD',
  openbsd: 'OpenBSD',
};

/** "debian12" -> "Debian 12", "ubuntu-24.04" -> "Ubuntu 24.04", "generic" -> "Generic". */
export function osLabel(os: string): string {
  const m = /^([a-z]+)[-_ ]?([\d.]*)(.*)$/i.exec(os);
  if (!m) return os;
  const [, family = '', version = '', rest = ''] = m;
  const name = OS_NAMES[family.toLowerCase()] ?? family.charAt(0).toUpperCase() + family.slice(1);
  return [name, version, rest.replace(/^[-_]/, '')].filter(Boolean).join(' ');
}

/** `short` drops the explanation ("TCG" instead of "TCG (emulated)") for tight spaces. */
export function accelLabel(accel: string, short = false): string {
  const label = (ACCELERATOR_LABELS as Record<string, string>)[accel] ?? accel;
  return short ? label.replace(/ \(.*\)$/, '') : label;
}

/** A stable hue per string, for avatars. */
export function hueOf(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return h % 360;
}

export function timeAgo(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

/** "3 s", "4 min 05 s", "2 h 07 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/**
 * Binary units. 'compact' (views: cards, tables that must stay narrow) drops the decimal from
 * 100 up ("293 KiB"); 'one-decimal' (the CLI, whose scripts and tables read a fixed shape) always
 * keeps one ("293.0 KiB"). Bytes are never given decimals.
 */
export function formatBytes(n: number, style: 'compact' | 'one-decimal' = 'compact'): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const whole = i === 0 || (style === 'compact' && v >= 100);
  return `${whole ? Math.round(v) : v.toFixed(1)} ${units[i] ?? 'B'}`;
}

/** Two letters standing in for an OS logo: "debian12" -> "De", "generic" -> "VM". */
export function osInitials(os: string): string {
  const label = osLabel(os);
  if (label === 'Generic') return 'VM';
  const word = label.split(' ')[0] ?? label;
  return (word.charAt(0).toUpperCase() + (word.charAt(1) || '').toLowerCase()).trim() || 'VM';
}

/** The version part of an OS id ("debian12" -> "12"), or ''. */
export function osVersion(os: string): string {
  return /^[a-z]+[-_ ]?([\d.]+)/i.exec(os)?.[1] ?? '';
}

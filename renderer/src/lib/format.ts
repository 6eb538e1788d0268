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

const ACCEL_NAMES: Record<string, string> = {
  kvm: 'KVM',
  hvf: 'HVF',
  whpx: 'WHPX',
  tcg: 'TCG (emulated)',
  auto: 'Automatic',
};

/** `short` drops the explanation ("TCG" instead of "TCG (emulated)") for tight spaces. */
export function accelLabel(accel: string, short = false): string {
  const label = ACCEL_NAMES[accel] ?? accel;
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

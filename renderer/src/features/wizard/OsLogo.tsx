import { useEffect } from 'react';
import type { OsFamily } from '../../../../common/contract';
import { loadOsFacts } from '../../actions/media';
import { useMediaStore } from '../../stores/media';

/**
 * assets/logos/*.svg as URLs (small ones inline as data: URLs): the one picture of an OS, in the
 * wizard, the library, the VM window and the media list alike.
 */
const FILES = import.meta.glob<string>('../../../../assets/logos/*.svg', {
  eager: true,
  query: '?url',
  import: 'default',
});

const LOGOS: Record<string, string> = Object.fromEntries(
  Object.entries(FILES).map(([path, url]) => [path.replace(/^.*\/|\.svg$/g, ''), url]),
);

/** The family's logo stands in for entries without their own (as the engine does). */
const FAMILY_LOGO: Record<OsFamily, string> = {
  windows: 'windows',
  linux: 'linux',
  bsd: 'bsd',
  solaris: 'solaris',
  dos: 'dos',
  alternative: 'alternative',
  other: 'generic',
};

export function logoUrl(logo: string, family: OsFamily): string | undefined {
  return LOGOS[logo] ?? LOGOS[FAMILY_LOGO[family]] ?? LOGOS['generic'];
}

export function OsLogo({
  logo,
  family,
  size = 40,
  className = '',
}: {
  logo: string;
  family: OsFamily;
  size?: number;
  className?: string;
}) {
  const src = logoUrl(logo, family);
  return src ? (
    <img
      className={`os-logo ${className}`}
      src={src}
      width={size}
      height={size}
      alt=""
      draggable={false}
    />
  ) : (
    <span className={`os-logo os-logo--blank ${className}`} style={{ width: size, height: size }} />
  );
}

/**
 * The logo of a VM's OS id as the config stores it ("debian-12", "windows-11", "centos-stream",
 * "generic"): the longest logo name the id starts with, else the generic one.
 */
export function logoForOs(os: string): string {
  const id = os.toLowerCase();
  let best = 'generic';
  for (const name of Object.keys(LOGOS)) {
    if (id.startsWith(name) && name.length > (best === 'generic' ? 0 : best.length)) best = name;
  }
  return best;
}

/** A VM's OS as one picture: the same logo the wizard showed when it was made. */
export function OsAvatar({
  os,
  size = 40,
  className = '',
}: {
  os: string;
  size?: number;
  className?: string;
}) {
  const facts = useMediaStore((s) => s.os[os]);
  useEffect(() => {
    if (facts === undefined) void loadOsFacts([os]);
  }, [os, facts]);
  // The catalogue's logo once known (the wizard's); meanwhile, or for an unknown id, its name's.
  return (
    <OsLogo
      logo={facts?.logo ?? logoForOs(os)}
      family={facts?.family ?? 'other'}
      size={size}
      className={className}
    />
  );
}

import type { OsFamily } from '../../../../common/contract';

/** assets/logos/*.svg as URLs (small ones inline as data: URLs), bundled with the wizard only. */
const FILES = import.meta.glob<string>('../../../assets/logos/*.svg', {
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

/**
 * Checksum lists as projects publish them: GNU coreutils style (`HEX  name`, `HEX *name`), BSD
 * style (`SHA256 (name) = HEX`, as Fedora, FreeBSD, OpenBSD and AlmaLinux do), with PGP armour
 * or comments around them, and single-hash files (`name.sha256` holding only the hash). Pure.
 */

export type HashAlgorithm = 'sha256' | 'sha512';

export const HEX_LENGTH: Record<HashAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ChecksumLine {
  name: string;
  algorithm: HashAlgorithm | null;
  hex: string;
}

export function parseChecksumList(text: string): ChecksumLine[] {
  const out: ChecksumLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (
      !line ||
      line.startsWith('#') ||
      line.startsWith('-----') ||
      /^(Hash|Version|Comment):/i.test(line)
    )
      continue;
    const bsd = /^(SHA256|SHA512|SHA-256|SHA-512)\s*\((.+)\)\s*=\s*([A-Fa-f0-9]+)$/i.exec(line);
    if (bsd) {
      const algorithm = bsd[1]!.replace('-', '').toLowerCase() as HashAlgorithm;
      out.push({ name: cleanName(bsd[2]!), algorithm, hex: bsd[3]!.toLowerCase() });
      continue;
    }
    const gnu = /^([A-Fa-f0-9]{64}|[A-Fa-f0-9]{128})(?:\s+[*]?(.+))?$/.exec(line);
    if (gnu) {
      const hex = gnu[1]!.toLowerCase();
      out.push({
        name: cleanName(gnu[2] ?? ''),
        algorithm: hex.length === 64 ? 'sha256' : 'sha512',
        hex,
      });
    }
  }
  return out;
}

function cleanName(name: string): string {
  return name.trim().replace(/^\.\//, '').replace(/^\*/, '');
}

/**
 * The hash of `name` in a list, for `algorithm`. A list with one entry of that algorithm and no
 * matching name (a `file.sha256` naming the file differently) answers for it too.
 */
export function findChecksum(
  lines: ChecksumLine[],
  name: string,
  algorithm: HashAlgorithm,
): string | null {
  const usable = lines.filter(
    (l) =>
      l.hex.length === HEX_LENGTH[algorithm] && (l.algorithm === null || l.algorithm === algorithm),
  );
  const base = name.split('/').pop() ?? name;
  const hit =
    usable.find((l) => l.name === name) ??
    usable.find((l) => (l.name.split('/').pop() ?? l.name) === base);
  if (hit) return hit.hex;
  return usable.length === 1 ? usable[0]!.hex : null;
}

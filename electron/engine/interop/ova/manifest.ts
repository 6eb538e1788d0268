/**
 * An OVF package's manifest (`NAME.mf`): one `SHA1(file)= hex` or `SHA256(file)= hex` line per
 * file (DSP0243 §5.1; VMware's ovftool writes SHA256 by default, VirtualBox SHA1 or SHA256). Every
 * file the envelope references, and the envelope itself, must be listed and match; a line naming
 * a file the package does not hold is refused too. Pure.
 */
import { VivariumError } from '../../errors';

export type DigestAlgorithm = 'SHA1' | 'SHA256';

export interface ManifestLine {
  algorithm: DigestAlgorithm;
  file: string;
  hex: string;
}

/** The digests computed while reading a file. */
export interface FileDigests {
  SHA1: string;
  SHA256: string;
}

const LINE = /^(SHA1|SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)\s*$/;

export function parseManifest(text: string, manifestName: string): ManifestLine[] {
  const lines: ManifestLine[] = [];
  text.split(/\r?\n/).forEach((raw, n) => {
    if (raw.trim() === '') return;
    const m = LINE.exec(raw.trim());
    if (!m?.[1] || !m[2] || !m[3]) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `Line ${n + 1} of the manifest ${manifestName} is not a checksum line: "${raw.slice(0, 80)}".`,
      );
    }
    if (m[1] === 'SHA512') {
      throw new VivariumError(
        'INVALID_REQUEST',
        `The manifest ${manifestName} uses SHA512, which Vivarium does not check yet: re-export the appliance with SHA256.`,
      );
    }
    lines.push({ algorithm: m[1] as DigestAlgorithm, file: m[2], hex: m[3].toLowerCase() });
  });
  return lines;
}

/**
 * Checks the manifest against the package: `files` are the names the package holds with their
 * digests, `required` those the envelope needs (the .ovf and every referenced file). Returns the
 * algorithm(s) used; throws naming the first file that does not check out.
 */
export function verifyManifest(
  lines: ManifestLine[],
  manifestName: string,
  files: ReadonlyMap<string, FileDigests>,
  required: readonly string[],
): 'SHA1' | 'SHA256' | 'mixed' {
  const byFile = new Map<string, ManifestLine>();
  for (const line of lines) {
    if (byFile.has(line.file)) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `The manifest ${manifestName} lists ${line.file} twice: the package may have been altered.`,
      );
    }
    byFile.set(line.file, line);
  }
  for (const line of lines) {
    if (!files.has(line.file)) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `The manifest ${manifestName} lists ${line.file}, which the package does not contain: it is incomplete.`,
      );
    }
  }
  for (const name of required) {
    const line = byFile.get(name);
    if (!line) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `${name} is not in the manifest ${manifestName}: the package may have been altered, so it is not imported.`,
      );
    }
    const have = files.get(name)?.[line.algorithm];
    if (have !== line.hex) {
      throw new VivariumError(
        'INVALID_REQUEST',
        `${name} does not match its ${line.algorithm} in the manifest ${manifestName}: the package is damaged or was altered, so it is not imported.`,
      );
    }
  }
  const algorithms = new Set(required.map((n) => byFile.get(n)?.algorithm));
  if (algorithms.size > 1) return 'mixed';
  return algorithms.has('SHA1') ? 'SHA1' : 'SHA256';
}

/** The manifest Vivarium writes: SHA256 lines in the order of the package. */
export function buildManifest(entries: ReadonlyArray<{ file: string; sha256: string }>): string {
  return entries.map((e) => `SHA256(${e.file})= ${e.sha256}\n`).join('');
}

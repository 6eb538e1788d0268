/**
 * Where a catalogue media comes from: one of its URL templates made concrete ({latest:REGEX} and
 * {file} filled in from folder listings) and the hash it must have, from the project's published
 * checksum list. Shared by downloads and `catalog.check`, which resolves without fetching the image.
 */
import type { MediaSpec } from '../../../../common/contract';
import { VivariumError } from '../../errors';
import { safeFileName } from '../archive';
import {
  findChecksum,
  parseChecksumList,
  type ChecksumLine,
  type HashAlgorithm,
} from '../checksums';
import { fetchText, listingNames, pickLatest, type RequestOptions } from '../http';

/** The hash a download must have. */
export interface Expected {
  algorithm: HashAlgorithm;
  hex: string;
  /** Where the expected hash came from, for messages and the cache record. */
  source: 'published' | 'user';
}

/** One mirror of a catalogue media, resolved: what a download fetches and checks it against. */
export interface ResolvedMedia {
  /** The image's concrete URL ({latest:...} and {file} filled in). */
  url: string;
  /** The file name it is stored under. */
  name: string;
  /** Its folder: checksum lists and the folder listing are read from here. */
  dir: string;
  /** The hash it must have, or null when there is none to check (a stated checksumReason). */
  expected: Expected | null;
  /** The checksum list that was read, when the media has one. */
  checksums: { url: string; lines: ChecksumLine[] } | null;
}

/** Reads a small text resource (a folder listing, a checksum list); http.ts's by default. */
export type TextFetcher = (
  url: string,
  opts: RequestOptions & { maxBytes?: number },
) => Promise<{ text: string; url: string }>;

export interface ResolveMediaOptions {
  signal: AbortSignal;
  /** Where listings and checksum lists are read from: the network unless given (tests resolve
   * the whole catalogue against made-up listings with it). */
  fetchText?: TextFetcher;
  /** Per request: give up after this long without an answer (default: http.ts's). */
  idleTimeoutMs?: number;
  /** The file name as known so far (from the spec or an earlier mirror); updated as soon as one
   * is found, even when a later step fails, so the next mirror reuses it. */
  known?: { fileName: string | null };
}

/**
 * Turns one of a media's URL templates into a concrete URL and the expected hash, reading folder
 * listings ({latest:REGEX}, filePattern) and the published checksum list as a download does,
 * without fetching the image. Throws a NETWORK error saying what is missing where.
 */
export async function resolveMediaSource(
  spec: MediaSpec,
  template: string,
  opts: ResolveMediaOptions,
): Promise<ResolvedMedia> {
  const { signal } = opts;
  const req: RequestOptions & { signal: AbortSignal } = { signal };
  if (opts.idleTimeoutMs !== undefined) req.idleTimeoutMs = opts.idleTimeoutMs;
  const known = opts.known ?? { fileName: spec.file ?? null };
  const get = opts.fetchText ?? fetchText;
  const concrete = await expandLatest(template, req, get);
  const dir = concrete.includes('{file}')
    ? concrete.slice(0, concrete.indexOf('{file}'))
    : concrete.slice(0, concrete.lastIndexOf('/') + 1);
  let listing: string[] | null = null;
  const list = async () => (listing ??= listingNames((await get(dir, req)).text));

  let checksums: { url: string; lines: ChecksumLine[] } | null = null;
  let expected: Expected | null = spec.sha256
    ? { algorithm: 'sha256', hex: spec.sha256, source: 'published' }
    : null;
  if (spec.checksum && !expected) {
    if (
      !known.fileName &&
      spec.filePattern &&
      spec.checksum.urls.every((u) => u.includes('{file}'))
    ) {
      known.fileName = pickLatest(await list(), new RegExp(spec.filePattern));
      // Every checksum list is named after the file: without it, none can be read.
      if (!known.fileName) throw noFileMatching(spec.filePattern, dir);
    }
    checksums = await loadChecksums(spec, dir, known.fileName, list, req, get);
  }
  const lines = checksums?.lines ?? null;
  if (!known.fileName && spec.filePattern) {
    const re = new RegExp(spec.filePattern);
    known.fileName =
      (lines &&
        pickLatest(
          lines.map((l) => l.name),
          re,
        )) ??
      pickLatest(await list(), re);
    if (!known.fileName) throw noFileMatching(spec.filePattern, dir);
  }
  const name =
    known.fileName ??
    safeFileName(decodeURIComponent(new URL(concrete).pathname.split('/').pop() ?? ''));
  if (checksums && spec.checksum) {
    const hex = findChecksum(checksums.lines, spec.checksum.name ?? name, spec.checksum.algorithm);
    if (hex) expected = { algorithm: spec.checksum.algorithm, hex, source: 'published' };
    else if (!spec.archive) {
      throw new VivariumError(
        'NETWORK',
        `The checksum list ${checksums.url} has no ${spec.checksum.algorithm.toUpperCase()} line for ${spec.checksum.name ?? name}.`,
      );
    }
  }
  const url = concrete.replace('{file}', encodeURIComponent(name));
  return { url, name, dir, expected, checksums };
}

function noFileMatching(pattern: string, dir: string): VivariumError {
  return new VivariumError('NETWORK', `No file matching ${pattern} is published at ${dir}.`);
}

/** Replaces each {latest:REGEX} with the greatest matching entry of that folder's listing. */
async function expandLatest(
  template: string,
  req: RequestOptions,
  get: TextFetcher,
): Promise<string> {
  let out = template;
  for (;;) {
    const start = out.indexOf('{latest:');
    if (start < 0) return out;
    const end = placeholderEnd(out, start);
    const pattern = new RegExp(out.slice(start + '{latest:'.length, end));
    const dir = out.slice(0, start);
    const names = listingNames((await get(dir, req)).text);
    const latest = pickLatest(names, pattern);
    if (!latest)
      throw new VivariumError('NETWORK', `Nothing matching ${pattern.source} is listed at ${dir}.`);
    out = out.slice(0, start) + encodeURIComponent(latest) + out.slice(end + 1);
  }
}

/** The first of the media's checksum lists that loads and holds checksums. */
async function loadChecksums(
  spec: MediaSpec,
  dir: string,
  fileName: string | null,
  list: () => Promise<string[]>,
  req: RequestOptions & { signal: AbortSignal },
  get: TextFetcher,
): Promise<{ url: string; lines: ChecksumLine[] }> {
  const { signal } = req;
  const errors: string[] = [];
  for (const raw of spec.checksum?.urls ?? []) {
    try {
      if (raw.includes('{file}') && !fileName)
        throw new VivariumError('NETWORK', 'the file name is not known yet');
      let rel = raw.replaceAll('{file}', fileName ?? '');
      if (rel.includes('{latest:')) {
        const start = rel.indexOf('{latest:');
        const end = placeholderEnd(rel, start);
        const hit = pickLatest(await list(), new RegExp(rel.slice(start + '{latest:'.length, end)));
        if (!hit) throw new VivariumError('NETWORK', `no checksum list matching ${rel} at ${dir}`);
        rel = rel.slice(0, start) + hit + rel.slice(end + 1);
      }
      const url = new URL(rel, dir).toString();
      const lines = parseChecksumList((await get(url, { ...req, maxBytes: 4 * 2 ** 20 })).text);
      if (lines.length) return { url, lines };
      errors.push(`${url} holds no checksums`);
    } catch (err) {
      signal.throwIfAborted();
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  throw new VivariumError(
    'NETWORK',
    `The published checksums could not be loaded (${errors.join('; ')}).`,
  );
}

/** Index of the '}' closing the placeholder that starts at `start` (braces inside may nest). */
export function placeholderEnd(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  throw new VivariumError('INTERNAL', `Unclosed placeholder in ${s}`);
}

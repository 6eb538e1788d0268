/**
 * `vivarium catalog|detect|download|media`, and `create --os ID` without `--iso`
 * (downloads the OS's install media first). Downloads run as engine tasks: a progress bar on
 * stderr when it is a terminal, or with --json one JSON object per progress event on stderr;
 * stdout gets the cached file's path (or, with --json, one JSON result). Ctrl-C cancels; the same
 * command resumes where it stopped.
 */
import { ARCH_LABELS } from '../../common/arch';
import { labelWithValue } from '../../common/labels';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  GUEST_ARCHES,
  OS_FAMILIES,
  type CatalogCheckItem,
  type CatalogCheckReport,
  type CatalogEntry,
  type GuestArch,
  type MediaDetection,
  type MediaDownloadResult,
  type OsFamily,
  type Params,
  type CachedMedia,
} from '../../common/contract';
import { formatMiB } from '../../common/format';
import { VivariumError } from '../engine';
import type { CliKit } from './kit';
import type { JsonOpt } from './output';
import { followTask, progressLine } from './progress';

/** Starts a download and waits for it, showing progress; Ctrl-C cancels (it resumes next time). */
export async function runDownload(
  kit: CliKit,
  params: Params<'media.download'>,
  opts: { json: boolean; quiet?: boolean; flags?: Record<string, string> },
): Promise<MediaDownloadResult> {
  const task = await kit.call('media.download', params, opts.flags);
  const engine = await kit.engine();
  const tty = !opts.json && !opts.quiet && process.stderr.isTTY;
  let latest = task;
  let lastMessage = '';
  let lastDraw = 0;
  const draw = (force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    process.stderr.write(
      `\r\x1b[K${progressLine(latest, process.stderr.columns || 80, (n) => kit.formatBytes(n))}`,
    );
  };
  const off = engine.onEvent((event) => {
    if (event.type !== 'task' || event.task.id !== task.id) return;
    latest = event.task;
    if (opts.json && !opts.quiet) {
      const t = event.task;
      process.stderr.write(
        `${JSON.stringify({ task: { id: t.id, state: t.state, progress: t.progress, bytesDone: t.bytesDone, bytesTotal: t.bytesTotal, bytesPerSecond: t.bytesPerSecond, etaSeconds: t.etaSeconds, message: t.message } })}\n`,
      );
    } else if (tty) {
      draw();
    } else if (
      !opts.quiet &&
      event.task.message &&
      event.task.message !== lastMessage &&
      event.task.state === 'running'
    ) {
      lastMessage = event.task.message;
      process.stderr.write(`${lastMessage}\n`);
    }
  });
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    engine.tasks.cancel(task.id);
    process.stderr.write(
      `${tty ? '\r\x1b[K' : ''}Cancelling: run the same command again to resume the download.\n`,
    );
  };
  process.on('SIGINT', onSigint);
  draw(true);
  try {
    return (await engine.tasks.wait(task.id)) as MediaDownloadResult;
  } finally {
    off();
    process.off('SIGINT', onSigint);
    if (tty) process.stderr.write('\r\x1b[K');
  }
}

function describeEntry(e: CatalogEntry): string {
  const p = e.profile;
  const r = e.resources;
  const lines = [
    `${e.name} (${e.id})`,
    `  ${e.description}`,
    `Family:     ${e.family}; ${e.architectures.join(', ')}${e.source === 'curated' ? '' : `; from ${e.source === 'osinfo' ? 'osinfo-db' : 'an extra catalogue file'}`}`,
    `Hardware:   ${labelWithValue('machine', p.machine)}, ${labelWithValue('firmware', p.firmware)}${p.firmware === 'uefi' && p.biosSupported ? ' (BIOS works too)' : ''}${p.tpm ? ', TPM 2.0' : ''}${p.secureBoot ? ', Secure Boot' : ''}; disk ${labelWithValue('diskBus', p.diskBus)}, network ${labelWithValue('nicModel', p.nicModel)}, video ${labelWithValue('video', p.video)}, sound ${labelWithValue('sound', p.sound)}, ${p.input === 'usb-tablet' ? 'USB tablet' : 'PS/2 mouse'}`,
    `Minimum:    ${formatMiB(r.minimum.memoryMiB)}, ${r.minimum.cpus} CPU, ${r.minimum.diskGiB} GiB disk`,
    `Recommended: ${formatMiB(r.recommended.memoryMiB)}, ${r.recommended.cpus} CPU, ${r.recommended.diskGiB} GiB disk`,
  ];
  if (e.homepage) lines.push(`Homepage:   ${e.homepage}`);
  const versions = e.versions.filter((v) => v.status !== 'legacy' || v.media.length > 0);
  if (versions.length) {
    lines.push('Versions:');
    for (const v of versions) {
      lines.push(
        `  ${v.id.padEnd(10)} ${v.name}${v.released ? ` (${v.released})` : ''}${v.eol ? `, support ends ${v.eol}` : ''}`,
      );
      for (const m of v.media) {
        const how = m.urls.length
          ? `vivarium download ${e.id}${e.versions.length > 1 ? ` --version ${v.id}` : ''}${v.media.length > 1 ? ` --media ${m.id}` : ''}`
          : `manual: ${m.page ?? 'your own media'}`;
        lines.push(`    ${m.id.padEnd(12)} ${m.label}  [${how}]`);
      }
    }
  }
  const legacy = e.versions.length - versions.length;
  if (legacy > 0)
    lines.push(`  (and ${legacy} older version${legacy === 1 ? '' : 's'} known for detection)`);
  if (e.notes.length) {
    lines.push('Notes:');
    for (const n of e.notes) lines.push(`  - ${n}`);
  }
  return lines.join('\n');
}

interface CatalogOpts extends JsonOpt {
  family?: OsFamily;
  all?: boolean;
}

async function cmdCatalog(kit: CliKit, words: string[], opts: CatalogOpts): Promise<void> {
  const query = words.join(' ').trim();
  if (query && !/\s/.test(query)) {
    // One word naming an entry exactly: show it.
    const entry = await kit.call('catalog.get', { id: query }).catch(() => null);
    if (entry && (entry.id === query.toLowerCase() || entry.aliases.includes(query))) {
      if (opts.json) kit.printJson(entry);
      else kit.writeOut(describeEntry(entry));
      return;
    }
  }
  const list = await kit.call('catalog.list', {
    ...(query ? { query } : {}),
    ...(opts.family ? { family: opts.family } : {}),
    includeOsinfo: Boolean(opts.all),
  });
  if (opts.json) return kit.printJson(list);
  if (!list.length) {
    kit.writeOut(
      `Nothing in the catalogue matches "${query}"${opts.all ? '' : ' (--all searches osinfo-db too)'}.`,
    );
    return;
  }
  kit.writeOut(
    kit.table(
      ['ID', 'NAME', 'FAMILY', 'LATEST', 'MEMORY', 'MEDIA'],
      list.map((e) => [
        e.id,
        e.name,
        e.family,
        e.latest?.id ?? '-',
        formatMiB(e.recommended.memoryMiB),
        e.downloadable
          ? 'download'
          : e.source === 'osinfo'
            ? 'your own'
            : e.versions.length
              ? 'manual'
              : '-',
      ]),
    ),
  );
}

function describeDetection(d: MediaDetection, kit: CliKit): string {
  const lines: string[] = [];
  const best = d.best;
  const what =
    best.confidence === 'none'
      ? 'Not recognised: the Generic profile fits it'
      : `${best.versionName ?? best.name}${best.confidence === 'family' ? ' (version not certain)' : ''}`;
  lines.push(what);
  lines.push(`  ${best.reason}`);
  if (d.iso) {
    lines.push(
      `Volume id:   ${d.iso.volumeId || '(none)'}${d.iso.jolietVolumeId ? ` (Joliet: ${d.iso.jolietVolumeId})` : ''}`,
    );
    if (d.iso.publisher) lines.push(`Publisher:   ${d.iso.publisher}`);
    if (d.iso.application) lines.push(`Application: ${d.iso.application}`);
    if (d.iso.created) lines.push(`Created:     ${d.iso.created}`);
    const boot = d.iso.elTorito;
    lines.push(
      `Boots with:  ${boot ? [boot.bios ? 'BIOS' : null, boot.uefi ? 'UEFI' : null].filter(Boolean).join(' and ') || 'nothing (no bootable entry)' : 'nothing (no El Torito boot record: not a bootable CD)'}`,
    );
    const why = d.iso.archEvidence[0]?.reason;
    lines.push(
      d.iso.architectures.length
        ? `Boots on:    ${d.iso.architectures.map((a) => ARCH_LABELS[a]).join(', ')} (${why ?? ''})`
        : 'Boots on:    no architecture its boot files tell',
    );
  } else {
    lines.push(
      `Format:      ${d.format === 'unknown' ? 'not an ISO 9660 image' : `${d.format} disk image (use it as a disk, not as a CD)`}`,
    );
  }
  lines.push(`Size:        ${kit.formatBytes(d.sizeBytes)}`);
  const others = d.candidates.slice(1).filter((c) => c.confidence !== 'none');
  if (others.length)
    lines.push(`Could also be: ${others.map((c) => c.versionName ?? c.name).join(', ')}`);
  const os = best.version && best.confidence === 'exact' ? `${best.os}-${best.version}` : best.os;
  const arch = d.arch && d.arch !== 'x86_64' ? ` --arch ${d.arch}` : '';
  lines.push(
    `Create a VM:  vivarium create NAME --os ${os}${arch} --iso ${JSON.stringify(d.file)}`,
  );
  return lines.join('\n');
}

interface CheckOpts extends JsonOpt {
  timeout?: number;
}

function parseSeconds(value: string): number {
  const n = Number(value.trim());
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || n <= 0 || n > 600)
    throw new InvalidArgumentError('The timeout is a number of seconds, from 1 to 600.');
  return n;
}

function checkDetail(item: CatalogCheckItem, kit: CliKit): string {
  if (item.status !== 'ok') return item.reason ?? '';
  const first = item.mirrors[0];
  if (!first) return '';
  const checksum = first.checksumUrl
    ? `checksum in ${decodeURIComponent(first.checksumUrl.split('/').pop() ?? '')}`
    : item.note
      ? 'no checksum published'
      : 'SHA-256 in the catalogue';
  const mirrors = item.mirrors.length > 1 ? `; ${item.mirrors.length} mirrors` : '';
  return `${first.file ?? '?'}, ${first.bytes === null ? '?' : kit.formatBytes(first.bytes)}, ${checksum}${mirrors}`;
}

async function cmdCheck(kit: CliKit, oses: string[], opts: CheckOpts): Promise<void> {
  if (!opts.json && process.stderr.isTTY)
    process.stderr.write('Checking the download links (nothing is downloaded)…\n');
  const task = await kit.call(
    'catalog.check',
    { os: oses, ...(opts.timeout !== undefined ? { timeoutSeconds: opts.timeout } : {}) },
    { os: 'OS', timeoutSeconds: '--timeout' },
  );
  const report = await followTask<CatalogCheckReport>(kit, task, Boolean(opts.json));
  if (opts.json) kit.printJson(report);
  else {
    const { ok, broken, skipped } = report.counts;
    kit.writeOut(
      kit.table(
        ['OS', 'VERSION', 'MEDIA', 'ARCH', 'STATUS', 'DETAIL'],
        report.items.map((i) => [
          i.os,
          i.version ?? '-',
          i.media ?? '-',
          i.arch ?? '-',
          i.status,
          checkDetail(i, kit),
        ]),
      ),
    );
    kit.writeOut(
      `${report.items.length} checked in ${report.seconds} s: ${ok} ok, ${broken} broken, ${skipped} skipped`,
    );
  }
  // The report is the answer (also with --json); a broken link makes it a failure all the same.
  if (report.counts.broken > 0) process.exitCode = 1;
}

interface DownloadOpts extends JsonOpt {
  version?: string;
  media?: string;
  arch?: GuestArch;
  url?: string;
  sha256?: string;
}

async function cmdDownload(kit: CliKit, os: string | undefined, opts: DownloadOpts): Promise<void> {
  const params: Params<'media.download'> = opts.url
    ? { url: opts.url, ...(opts.sha256 !== undefined ? { sha256: opts.sha256 } : {}) }
    : {
        ...(os !== undefined ? { os } : {}),
        ...(opts.version !== undefined ? { version: opts.version } : {}),
        ...(opts.media !== undefined ? { media: opts.media } : {}),
        ...(opts.arch !== undefined ? { arch: opts.arch } : {}),
        ...(opts.sha256 !== undefined ? { sha256: opts.sha256 } : {}),
      };
  const result = await runDownload(kit, params, {
    json: Boolean(opts.json),
    flags: {
      os: 'OS',
      url: '--url',
      sha256: '--sha256',
      version: '--version',
      media: '--media',
      arch: '--arch',
    },
  });
  if (opts.json) {
    kit.printJson(result);
    return;
  }
  const how =
    result.media.verified === 'none' ? 'not verified (no published checksum)' : 'verified';
  process.stderr.write(
    result.reused
      ? `Already downloaded (${how}):\n`
      : `Downloaded ${kit.formatBytes(result.bytes)}, SHA-256 ${result.sha256.slice(0, 16)}…, ${how}:\n`,
  );
  kit.writeOut(result.file);
}

interface MediaOpts extends JsonOpt {
  delete?: string;
}

interface MediaRmOpts extends JsonOpt {
  eject?: boolean;
}

/** Shortest SHA-256 prefix `media rm` takes (12 are shown; 8 keep collisions unlikely). */
const MIN_SHA_PREFIX = 8;

/**
 * The cached image a user means: its SHA-256, a unique prefix of it (8 or more hex digits), its
 * file name, or its path. Unknown or ambiguous -> an error naming what would do (exit 1).
 */
async function findCached(kit: CliKit, ref: string): Promise<CachedMedia> {
  const list = await kit.call('media.list', {});
  const lower = ref.trim().toLowerCase();
  const hex = /^[0-9a-f]+$/.test(lower);
  const byName = list.filter(
    (m) => m.filename === ref || (ref.includes('/') && m.file === resolve(ref)),
  );
  if (hex && lower.length < MIN_SHA_PREFIX && !byName.length) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `"${ref}" is too short: give at least ${MIN_SHA_PREFIX} characters of the SHA-256, or the file name (vivarium media lists them).`,
    );
  }
  const bySha =
    hex && lower.length >= MIN_SHA_PREFIX ? list.filter((m) => m.sha256.startsWith(lower)) : [];
  const hits = [...new Map([...bySha, ...byName].map((m) => [m.sha256, m])).values()];
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) {
    throw new VivariumError(
      'INVALID_REQUEST',
      `"${ref}" matches ${hits.length} cached images: ${hits.map((m) => `${m.sha256.slice(0, 16)} (${m.filename})`).join(', ')}. Give more of the SHA-256.`,
    );
  }
  throw new VivariumError(
    'NOT_FOUND',
    `Nothing in the media cache matches "${ref}": give its SHA-256 (or its first ${MIN_SHA_PREFIX}+ characters) or its file name, as \`vivarium media\` lists them.`,
  );
}

async function cmdMediaRm(kit: CliKit, ref: string, opts: MediaRmOpts): Promise<void> {
  const eject = Boolean(opts.eject);
  let media: CachedMedia;
  try {
    media = await findCached(kit, ref);
  } catch (err) {
    // A whole SHA-256 also names an entry `media` does not list (its image or meta.json broken).
    const sha = ref.trim().toLowerCase();
    if (!(err instanceof VivariumError && err.code === 'NOT_FOUND' && /^[0-9a-f]{64}$/.test(sha)))
      throw err;
    const res = await kit.call('media.delete', { sha256: sha, eject });
    if (!res.deleted) throw err;
    if (opts.json) return kit.printJson(res);
    return kit.writeOut(`Deleted the incomplete cache entry ${sha}`);
  }
  const res = await kit.call('media.delete', { sha256: media.sha256, eject });
  if (opts.json) return kit.printJson(res);
  const ejected = res.ejectedFrom.length
    ? ` (ejected from ${res.ejectedFrom.map((n) => `"${n}"`).join(', ')})`
    : '';
  kit.writeOut(
    res.deleted ? `Deleted ${res.file ?? media.file}${ejected}` : `${media.file} was already gone`,
  );
}

function formatWhen(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

async function cmdMediaPartials(kit: CliKit, opts: JsonOpt): Promise<void> {
  const list = await kit.call('media.partials', {});
  if (opts.json) return kit.printJson(list);
  if (!list.length) {
    kit.writeOut('No partial downloads.');
    return;
  }
  kit.writeOut(
    kit.table(
      ['KEY', 'FILE', 'DOWNLOADED', 'MODIFIED', 'URL'],
      list.map((p) => [
        p.key,
        p.filename,
        p.total
          ? `${kit.formatBytes(p.bytes)} of ${kit.formatBytes(p.total)} (${Math.floor((p.bytes / p.total) * 100)}%)`
          : kit.formatBytes(p.bytes),
        formatWhen(p.modifiedAt),
        p.url,
      ]),
    ),
  );
  kit.writeOut(
    'The same download resumes where it stopped (vivarium download OS, or --url URL with its --sha256); `vivarium media discard KEY` frees the space.',
  );
}

async function cmdMediaDiscard(kit: CliKit, key: string, opts: JsonOpt): Promise<void> {
  const res = await kit.call('media.discardPartial', { key }, { key: 'KEY' });
  if (opts.json) return kit.printJson(res);
  kit.writeOut(`Discarded the partial download ${key}: ${kit.formatBytes(res.bytes)} freed`);
}

async function cmdMedia(kit: CliKit, opts: MediaOpts): Promise<void> {
  // The older spelling of `media rm REF` (without --eject).
  if (opts.delete) return cmdMediaRm(kit, opts.delete, { json: Boolean(opts.json) });
  const list = await kit.call('media.list', {});
  if (opts.json) return kit.printJson(list);
  if (!list.length) {
    kit.writeOut('No install media downloaded yet. Get some with: vivarium download OS');
    return;
  }
  kit.writeOut(
    kit.table(
      ['SHA256', 'OS', 'ARCH', 'SIZE', 'VERIFIED', 'USED BY', 'FILE'],
      list.map((m) => [
        m.sha256.slice(0, 12),
        m.os ? `${m.os}${m.version ? ` ${m.version}` : ''}` : '-',
        m.arch ?? '-',
        kit.formatBytes(m.bytes),
        m.verified,
        m.usedBy.length ? m.usedBy.map((u) => u.name).join(', ') : '-',
        m.file,
      ]),
    ),
  );
}

export function registerCatalogCommands(kit: CliKit): void {
  const catalog = kit
    .cmd(
      'catalog',
      'list the guest OSes Vivarium knows; words search it; an id shows one in detail',
    )
    .argument('[query...]', 'words to search for, or an OS id')
    .addOption(new Option('--family <family>', 'only this family').choices(OS_FAMILIES))
    .option('--all', "include the OSes from this computer's osinfo-db")
    .action(kit.run((words: string[], o: CatalogOpts) => cmdCatalog(kit, words, o)));

  catalog
    .command('check')
    .description(
      "for maintainers: check that each catalogue media's links resolve as a download would (folder listings, checksum line, the image's headers) without downloading; exit 1 when one is broken",
    )
    .argument('[os...]', 'OS ids, a version too (debian-12); default: the whole catalogue')
    .option('--json', 'machine-readable output on stdout')
    .option('--timeout <seconds>', 'per request (default 15)', parseSeconds)
    .action(async (oses: string[], o: CheckOpts, command: Command) => {
      // `catalog` has a --json of its own, which takes the flag wherever it is typed.
      const json = Boolean(o.json ?? command.parent?.opts<JsonOpt>().json);
      await cmdCheck(kit, oses, { ...o, json });
    });

  kit
    .cmd('detect', 'recognise the OS on a disc image (ISO 9660 volume id, El Torito)')
    .argument('<file>', 'the ISO image')
    .action(
      kit.run(async (file: string, o: JsonOpt) => {
        const d = await kit.call('media.detect', { file: resolve(file) }, { file: 'FILE' });
        if (o.json) kit.printJson(d);
        else kit.writeOut(describeDetection(d, kit));
      }),
    );

  kit
    .cmd(
      'download',
      "download an OS's install media (or any URL) into the verified cache; prints its path",
    )
    .argument('[os]', 'an OS id from `vivarium catalog`')
    .option('--version <version>', 'which version (default: the current one)')
    .option('--media <id>', 'which of its images (see `vivarium catalog OS`)')
    .addOption(new Option('--arch <arch>', 'architecture').choices(GUEST_ARCHES))
    .option('--url <url>', 'download this http(s) URL instead of a catalogue entry')
    .option('--sha256 <hex>', 'with --url: the SHA-256 it must have')
    .action(kit.run((os: string | undefined, o: DownloadOpts) => cmdDownload(kit, os, o)));

  const media = kit
    .cmd('media', 'list the downloaded install media (the cache) and the VMs using them')
    .addOption(new Option('--delete <sha256>', 'same as `media rm SHA256`').hideHelp())
    .action(kit.run((o: MediaOpts) => cmdMedia(kit, o)));
  // `media` has a --json of its own, which takes the flag wherever it is typed.
  const jsonOf = (o: JsonOpt, command: Command) =>
    Boolean(o.json ?? command.parent?.opts<JsonOpt>().json);
  const mediaSub = (nameAndArgs: string, description: string) =>
    media
      .command(nameAndArgs)
      .description(description)
      .option('--json', 'machine-readable output on stdout');
  mediaSub(
    'rm',
    "delete a cached image; refused while it is in a VM's CD-ROM unless --eject (the VMs must be stopped)",
  )
    .alias('delete')
    .argument('<ref>', 'its SHA-256, a unique prefix of 8+ characters, or its file name')
    .option('--eject', 'eject it from the stopped VMs that have it in their CD-ROM first')
    .action((ref: string, o: MediaRmOpts, command: Command) =>
      cmdMediaRm(kit, ref, { ...o, json: jsonOf(o, command) }),
    );
  mediaSub('partial', 'list the downloads that stopped before their end (they resume)')
    .alias('partials')
    .action((o: JsonOpt, command: Command) => cmdMediaPartials(kit, { json: jsonOf(o, command) }));
  mediaSub('discard', 'delete a partial download to free its space')
    .argument('<key>', 'its KEY, as `vivarium media partial` lists it')
    .action((key: string, o: JsonOpt, command: Command) =>
      cmdMediaDiscard(kit, key, { json: jsonOf(o, command) }),
    );

  // `create NAME --os ID` without --iso or --kernel: fetch the OS's media first, then create.
  kit.program.hook('preAction', async (_program: Command, action: Command) => {
    if (action.name() !== 'create') return;
    const o = action.opts<{ os?: string; iso?: string; kernel?: string; json?: boolean }>();
    if (!o.os || o.iso !== undefined || o.kernel !== undefined) return;
    const result = await runDownload(
      kit,
      { os: o.os },
      { json: Boolean(o.json), quiet: Boolean(o.json), flags: { os: '--os' } },
    );
    if (!o.json) process.stderr.write(`Install media: ${result.file}\n`);
    action.setOptionValue('iso', result.file);
  });
}

/**
 * The catalogue as the engine uses it: loaded once (curated at once, osinfo-db lazily, since
 * parsing its ~800 files takes a few hundred ms), the media cache, detection and profiles.
 */
import type {
  CatalogVersion,
  CreateDefaults,
  GuestArch,
  HostInfo,
  MediaDetection,
  MediaSpec,
  ParsedParams,
  VmArch,
} from '../../../common/contract';
import { nativeArchOf, vmArchOf } from '../../../common/arch';
import { VivariumError } from '../errors';
import {
  Catalog,
  catalogOptionsFromEnv,
  defaultVersion,
  loadCurated,
  loadExtraFiles,
  type CatalogOptions,
  type Resolved,
} from './catalog';
import { preferredArch } from './iso-arch';
import { readImageInfo } from './iso9660';
import { MediaStore } from './media-store';
import { readOsinfoDb } from './osinfo';
import { applyCreateDefaults, profileToCreateDefaults } from './profile';

export interface MediaChoice {
  resolved: Resolved;
  version: CatalogVersion;
  media: MediaSpec;
}

export class CatalogService {
  readonly media: MediaStore;
  /** The architecture this host runs natively: what a multi-arch image is detected as. */
  readonly hostArch: VmArch | null;
  private readonly opts: Required<CatalogOptions>;
  private own: Promise<Catalog> | null = null;
  private full: Promise<Catalog> | null = null;

  constructor(
    cacheDir: string,
    opts: CatalogOptions = {},
    hostArch: VmArch | null = nativeArchOf(process.arch),
  ) {
    this.hostArch = hostArch;
    const env = catalogOptionsFromEnv();
    this.opts = {
      extraFiles: opts.extraFiles ?? env.extraFiles,
      osinfoDir: opts.osinfoDir === undefined ? env.osinfoDir : opts.osinfoDir,
    };
    this.media = new MediaStore({ cacheDir });
  }

  /** The catalogue; without osinfo-db when `withOsinfo` is false (faster, for lookups). */
  catalog(withOsinfo = true): Promise<Catalog> {
    if (!withOsinfo || this.opts.osinfoDir === null) {
      this.own ??= this.load(false);
      return this.own;
    }
    this.full ??= this.load(true);
    return this.full;
  }

  private load(withOsinfo: boolean): Promise<Catalog> {
    const p = (async () => {
      const curated = loadCurated();
      const extra = await loadExtraFiles(this.opts.extraFiles);
      const osinfo =
        withOsinfo && this.opts.osinfoDir ? await readOsinfoDb(this.opts.osinfoDir) : null;
      return Catalog.build(curated, extra, osinfo);
    })();
    // A failed load (a broken extra file) is retried on the next call.
    p.catch(() => {
      if (withOsinfo) this.full = null;
      else this.own = null;
    });
    return p;
  }

  /** Curated and extra entries first; osinfo-db only when they do not know the reference. */
  async resolve(ref: string, version?: string): Promise<Resolved> {
    const own = await this.catalog(false);
    if (own.resolve(ref)) return own.require(ref, version);
    return (await this.catalog(true)).require(ref, version);
  }

  async defaults(os: string, version: string | undefined, host: HostInfo): Promise<CreateDefaults> {
    const r = await this.resolve(os, version);
    const v = r.version ?? defaultVersion(r.entry);
    return profileToCreateDefaults(r.entry, host, { version: v, versionGiven: r.versionGiven });
  }

  /** `vm.create`'s request with the profile of its `os` filled in (unchanged without `os`). */
  async applyProfile(
    req: ParsedParams<'vm.create'>,
    host: HostInfo,
  ): Promise<ParsedParams<'vm.create'>> {
    if (req.os === undefined) return req;
    return applyCreateDefaults(req, await this.defaults(req.os, undefined, host));
  }

  /**
   * What an image is and holds. Its architecture comes from its boot files (the host's own first
   * when it boots on several), else from the name the catalogue matched.
   */
  async detect(file: string, hostArch: VmArch | null = this.hostArch): Promise<MediaDetection> {
    const info = await readImageInfo(file);
    const candidates = (await this.catalog(true)).detect(info.iso);
    const best = candidates[0]!;
    const named = best.arch ? vmArchOf(best.arch) : null;
    return {
      file,
      sizeBytes: info.sizeBytes,
      format: info.format,
      iso: info.iso,
      candidates,
      best,
      arch: preferredArch(info.iso?.architectures ?? [], hostArch) ?? named,
    };
  }

  /**
   * The media `media.download` fetches for an OS: the named version (else the default one),
   * the named media (else the first for the wanted arch that Vivarium can download).
   */
  async chooseMedia(
    os: string,
    opts: {
      version?: string | undefined;
      media?: string | undefined;
      arch?: GuestArch | undefined;
    },
  ): Promise<MediaChoice> {
    const resolved = await this.resolve(os, opts.version);
    const { entry } = resolved;
    const version =
      resolved.version ??
      entry.versions.find((v) => v.status !== 'legacy' && v.media.some((m) => m.urls.length > 0)) ??
      defaultVersion(entry);
    if (!version || version.media.length === 0) {
      throw new VivariumError(
        'NOT_FOUND',
        `The catalogue has no install media for ${version?.name ?? entry.name}: bring your own ISO and choose it with --iso.`,
      );
    }
    let candidates = version.media;
    if (opts.media) {
      candidates = candidates.filter((m) => m.id === opts.media);
      if (!candidates.length) {
        throw new VivariumError(
          'NOT_FOUND',
          `${version.name} has no media "${opts.media}" (it has: ${version.media.map((m) => m.id).join(', ')}).`,
        );
      }
    }
    if (opts.arch) {
      const forArch = candidates.filter((m) => m.arch === opts.arch);
      if (!forArch.length)
        throw new VivariumError(
          'NOT_FOUND',
          `${version.name} has no ${opts.arch} media in the catalogue.`,
        );
      candidates = forArch;
    }
    // Unnamed, an install medium is meant (`download debian` gets the installer); a cloud image
    // is asked for by its id.
    const installers = opts.media ? candidates : candidates.filter((m) => m.kind !== 'cloud');
    if (installers.length) candidates = installers;
    const media = candidates.find((m) => m.urls.length > 0) ?? candidates[0]!;
    if (media.urls.length === 0) {
      const where = media.page
        ? ` Download it from ${media.page}, then use that file (--iso PATH, or choose it in the wizard).`
        : '';
      throw new VivariumError(
        'INVALID_REQUEST',
        `Vivarium cannot download ${version.name} by itself: ${media.checksumReason ?? 'there is no direct link.'}${where}`,
      );
    }
    return { resolved, version, media };
  }
}

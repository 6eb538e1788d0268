/**
 * The catalogue and media methods of the contract (issue 5): `catalog.*` and `media.*`.
 * Downloads run as tasks; asking again for media already on its way returns the same task.
 */
import type { TaskInfo } from '../../../preload/contract';
import { publicEntry, summarize } from '../catalog/catalog';
import { checkCatalog, type CheckTarget } from '../catalog/catalog-check';
import type { Engine } from './engine';
import { checkReadableFile } from './file-checks';
import type { HandlerGroup } from './handlers';

type CatalogMethods =
  | 'catalog.list'
  | 'catalog.get'
  | 'catalog.defaults'
  | 'catalog.check'
  | 'media.detect'
  | 'media.download'
  | 'media.list'
  | 'media.delete';

export function catalogHandlers(engine: Engine): HandlerGroup<CatalogMethods> {
  /** Download key (media or URL) -> id of the task fetching it. */
  const running = new Map<string, string>();

  const startOnce = (key: string, start: () => TaskInfo): TaskInfo => {
    const id = running.get(key);
    if (id) {
      try {
        const task = engine.tasks.get(id);
        if (task.state === 'running') return task;
      } catch {
        // Pruned: start a new one.
      }
    }
    const task = start();
    running.set(key, task.id);
    void engine.tasks
      .wait(task.id)
      .catch(() => undefined)
      .finally(() => {
        if (running.get(key) === task.id) running.delete(key);
      });
    return task;
  };

  return {
    'catalog.list': async ({ query, family, includeOsinfo }) => {
      const catalog = await engine.catalog.catalog(includeOsinfo);
      return catalog.list({ query, family, includeOsinfo }).map(summarize);
    },
    'catalog.get': async ({ id }) => publicEntry((await engine.catalog.resolve(id)).entry),
    'catalog.defaults': async ({ os, version }) =>
      engine.catalog.defaults(os, version, await engine.host()),
    'catalog.check': async ({ os, timeoutSeconds, concurrency }) => {
      // Named entries (a version too, as in 'debian-12'), else every curated and extra one.
      const targets: CheckTarget[] = os.length
        ? await Promise.all(
            os.map(async (ref) => {
              const r = await engine.catalog.resolve(ref);
              return { entry: r.entry, versions: r.version ? [r.version] : r.entry.versions };
            }),
          )
        : (await engine.catalog.catalog(false))
            .list({ includeOsinfo: false })
            .map((entry) => ({ entry, versions: entry.versions }));
      return checkCatalog(targets, { timeoutMs: timeoutSeconds * 1000, concurrency });
    },
    'media.detect': async ({ file }) => {
      await checkReadableFile(file, 'disc image');
      return engine.catalog.detect(file);
    },
    'media.list': async () => engine.catalog.media.list(),
    'media.delete': async ({ sha256 }) => engine.catalog.media.remove(sha256),
    'media.download': async (req) => {
      const store = engine.catalog.media;
      if (req.url !== undefined) {
        const url = req.url;
        const sha256 = req.sha256 ?? null;
        const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '') || url;
        return startOnce(`url:${sha256 ?? url}`, () =>
          engine.tasks.start({
            kind: 'media.download',
            title: `Download ${name}`,
            run: (ctx) => store.fetchUrl(url, sha256, ctx),
          }),
        );
      }
      const choice = await engine.catalog.chooseMedia(req.os ?? '', {
        version: req.version,
        media: req.media,
        arch: req.arch,
      });
      const { resolved, version, media } = choice;
      const label = `${version.name} (${media.label})`;
      return startOnce(`media:${resolved.entry.id}/${version.id}/${media.id}`, () =>
        engine.tasks.start({
          kind: 'media.download',
          title: `Download ${label}`,
          run: (ctx) =>
            store.fetchSpec(
              media,
              { os: resolved.entry.id, version: version.id, mediaId: media.id, label },
              ctx,
            ),
        }),
      );
    },
  };
}

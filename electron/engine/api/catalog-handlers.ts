/** The catalogue methods of the contract: `catalog.*`, the guest OSes and their install media. */
import { publicEntry, summarize } from '../catalog/catalog';
import { checkCatalog, type CheckTarget } from '../catalog/catalog-check';
import type { CatalogService } from '../catalog/service';
import type { HostService } from '../host/host-service';
import type { TaskManager } from '../tasks/task-manager';
import type { HandlerGroup } from './handlers';

type CatalogMethod = 'catalog.list' | 'catalog.get' | 'catalog.defaults' | 'catalog.check';

export function catalogHandlers(
  catalog: CatalogService,
  host: HostService,
  tasks: TaskManager,
): HandlerGroup<CatalogMethod> {
  return {
    'catalog.list': async ({ query, family, includeOsinfo }) => {
      const entries = await catalog.catalog(includeOsinfo);
      return entries.list({ query, family, includeOsinfo }).map(summarize);
    },
    'catalog.get': async ({ id }) => publicEntry((await catalog.resolve(id)).entry),
    'catalog.defaults': async ({ os, version }) => catalog.defaults(os, version, await host.get()),
    'catalog.check': async ({ os, timeoutSeconds, concurrency }) => {
      // Named entries (a version too, as in 'debian-12'), else every curated and extra one.
      const targets: CheckTarget[] = os.length
        ? await Promise.all(
            os.map(async (ref) => {
              const r = await catalog.resolve(ref);
              return { entry: r.entry, versions: r.version ? [r.version] : r.entry.versions };
            }),
          )
        : (await catalog.catalog(false))
            .list({ includeOsinfo: false })
            .map((entry) => ({ entry, versions: entry.versions }));
      return tasks.start({
        kind: 'catalog.check',
        title: 'Check the catalogue’s download links',
        run: (ctx) =>
          checkCatalog(targets, {
            timeoutMs: timeoutSeconds * 1000,
            concurrency,
            signal: ctx.signal,
            onProgress: (done, total) =>
              ctx.report({ progress: done / total, message: `${done} of ${total} media checked` }),
          }),
      });
    },
  };
}

/**
 * The media methods of the contract: `media.*`, the install images in the cache. Downloads run as
 * tasks; asking again for media already on its way returns the same task.
 */
import { vmArchOf } from '../../../common/arch';
import { plainOsName } from '../../../common/media-names';
import { isLive } from '../../../common/vm-state';
import type { ApiResults, TaskInfo } from '../../../common/contract';
import { baseImageUsers } from '../catalog/cdrom-users';
import { realPathOf } from '../catalog/media-store';
import type { CatalogService } from '../catalog/service';
import { VivariumError } from '../errors';
import type { VmRegistry } from '../library/registry';
import type { TaskManager } from '../tasks/task-manager';
import { checkReadableFile } from '../vms/file-checks';
import type { VmLifecycle } from '../vms/lifecycle';
import type { HandlerGroup } from './handlers';

type MediaMethod =
  | 'media.detect'
  | 'media.download'
  | 'media.list'
  | 'media.delete'
  | 'media.partials'
  | 'media.discardPartial';

export interface MediaHandlerDeps {
  catalog: CatalogService;
  tasks: TaskManager;
  registry: VmRegistry;
  lifecycle: VmLifecycle;
}

/** "A", "A" and "B", "A", "B" and "C". */
function quotedNames(names: string[]): string {
  const q = names.map((n) => `"${n}"`);
  return q.length > 1 ? `${q.slice(0, -1).join(', ')} and ${q.at(-1)}` : (q[0] ?? '');
}

/**
 * `media.delete`: an image in a VM's CD-ROM is refused, naming the VMs, unless `eject`; then
 * every such VM must be stopped, and each is ejected with `vm.update {cdrom: null}` (its config
 * saved, a vm.state event sent) before the image goes. Nothing is ejected when one runs.
 */
async function deleteMedia(
  deps: MediaHandlerDeps,
  sha256: string,
  eject: boolean,
): Promise<ApiResults['media.delete']> {
  const store = deps.catalog.media;
  store.assertNotStoring(sha256);
  const media = await store.get(sha256);
  const what = media ? `"${media.filename}"` : `the image ${sha256.slice(0, 12)}…`;
  const What = what.charAt(0).toUpperCase() + what.slice(1);
  if (media) {
    const bases = (await baseImageUsers(deps.registry.list())).get(await realPathOf(media.file));
    if (bases?.length) {
      throw new VivariumError(
        'BAD_STATE',
        `${What} is the base image of the disks of ${quotedNames(bases.map((u) => u.name))} (thin overlays on it): delete ${bases.length > 1 ? 'those VMs' : 'that VM'} first.`,
      );
    }
  }
  // Only CD-ROMs hold it now (no disk is based on it).
  const users = await store.usersOf(sha256);
  const ejectedFrom: string[] = [];
  if (users.length) {
    const names = quotedNames(users.map((u) => u.name));
    if (!eject) {
      throw new VivariumError(
        'BAD_STATE',
        `${What} is in the CD-ROM of ${names}: eject it there first, or delete it with eject (--eject).`,
      );
    }
    const vms = users.map((u) => deps.registry.resolve(u.id));
    const live: string[] = [];
    for (const vm of vms) {
      const seen = await vm.supervisor.refresh().catch(() => vm.supervisor.current);
      const now = vm.supervisor.current.state;
      if (isLive(seen.state) || isLive(now)) {
        live.push(`"${vm.config.name}" (${isLive(now) ? now : seen.state})`);
      }
    }
    if (live.length) {
      const several = live.length > 1;
      throw new VivariumError(
        'BAD_STATE',
        `${What} is in the CD-ROM of ${several ? `${live.slice(0, -1).join(', ')} and ${live.at(-1)}` : live[0]}, which must be stopped to eject it: shut ${several ? 'them' : 'it'} down first, then delete it with eject (nothing was changed).`,
      );
    }
    for (const vm of vms) {
      try {
        // The same path as vm.update: the state check, the saved config and the event.
        await deps.lifecycle.update(vm.config.id, { cdrom: null });
      } catch (err) {
        if (!ejectedFrom.length || !(err instanceof VivariumError)) throw err;
        throw new VivariumError(
          err.code,
          `${err.message} (${what} was already ejected from ${quotedNames(ejectedFrom)}, and was not deleted.)`,
          err.fields,
        );
      }
      ejectedFrom.push(vm.config.name);
    }
    // A VM given the image meanwhile keeps it.
    const late = await store.usersOf(sha256);
    if (late.length) {
      throw new VivariumError(
        'BAD_STATE',
        `${What} was put in the CD-ROM of ${quotedNames(late.map((u) => u.name))} meanwhile: it was not deleted.`,
      );
    }
  }
  const removed = await store.remove(sha256);
  return { ...removed, ejectedFrom };
}

export function mediaHandlers(deps: MediaHandlerDeps): HandlerGroup<MediaMethod> {
  const { catalog, tasks } = deps;
  /** Download key (media or URL) -> id of the task fetching it. */
  const running = new Map<string, string>();

  const startOnce = (key: string, start: () => TaskInfo): TaskInfo => {
    const id = running.get(key);
    if (id) {
      try {
        const task = tasks.get(id);
        if (task.state === 'running') return task;
      } catch {
        // Pruned: start a new one.
      }
    }
    const task = start();
    running.set(key, task.id);
    void tasks
      .wait(task.id)
      .catch(() => undefined)
      .finally(() => {
        if (running.get(key) === task.id) running.delete(key);
      });
    return task;
  };

  return {
    'media.detect': async ({ file }) => {
      await checkReadableFile(file, 'disc image');
      return catalog.detect(file);
    },
    'media.list': async () => catalog.media.list(),
    'media.delete': ({ sha256, eject }) => deleteMedia(deps, sha256, eject),
    'media.partials': () => catalog.media.partials(),
    'media.discardPartial': ({ key }) => catalog.media.discardPartial(key),
    'media.download': async (req) => {
      const store = catalog.media;
      if (req.url !== undefined) {
        const url = req.url;
        const sha256 = req.sha256 ?? null;
        const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '') || url;
        return startOnce(`url:${sha256 ?? url}`, () =>
          tasks.start({
            kind: 'media.download',
            title: `Download ${name}`,
            run: (ctx) => store.fetchUrl(url, sha256, ctx),
          }),
        );
      }
      const choice = await catalog.chooseMedia(req.os ?? '', {
        version: req.version,
        media: req.media,
        arch: req.arch,
      });
      const { resolved, version, media } = choice;
      const label = `${version.name} (${media.label})`;
      return startOnce(`media:${resolved.entry.id}/${version.id}/${media.id}`, () =>
        tasks.start({
          kind: 'media.download',
          title: `Download ${label}`,
          run: (ctx) =>
            store.fetchSpec(
              media,
              {
                os: resolved.entry.id,
                version: version.id,
                mediaId: media.id,
                label,
                osName: plainOsName(version.name),
                arch: vmArchOf(media.arch),
              },
              ctx,
            ),
        }),
      );
    },
  };
}

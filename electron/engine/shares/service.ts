/**
 * A VM's shared folders and clipboard sharing: listed with the line the guest needs, added and
 * removed while the VM is shut down (QEMU 7.2 cannot hot-plug a 9p fsdev, nor give a live NAT
 * card an SMB server), each folder checked when it is added and again at every start.
 */
import { stat } from 'node:fs/promises';
import type {
  ParsedParams,
  ShareConfig,
  ShareInfo,
  ShareList,
  VmConfig,
  VmSummary,
} from '../../../common/contract';
import {
  CLIPBOARD_NEEDS_STOP,
  SHARE_MAX,
  SHARES_NEED_STOP,
  guestFstabLine,
  guestMountLine,
  guestNeeds,
  sharePathProblem,
  shareReadOnlyProblem,
  tagFromPath,
} from '../../../common/rules/shares';
import { savedToChangeMessage } from '../../../common/rules/vm-settings';
import { isLive, isSaved } from '../../../common/vm-state';
import { VivariumError } from '../errors';
import type { VmRegistry } from '../library/registry';
import type { Vm } from '../library/vm';
import { liveQemuPid } from '../qemu/pid-file';
import { smbSharesProblem } from '../qemu/args';
import { shareModes } from './host-tools';

type AddRequest = ParsedParams<'share.add'>;

/** Why `path` cannot be shared now (missing, a file, unreadable), or null. */
export async function shareFolderProblem(path: string): Promise<string | null> {
  try {
    const s = await stat(path);
    if (!s.isDirectory()) {
      return `${path} is a file, not a folder: share the folder that holds it`;
    }
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return `There is no folder ${path} on this computer: create it, or choose another`;
    }
    if (code === 'EACCES') return `This user may not open ${path}: choose a folder you own`;
    return `Could not open ${path}: ${(err as Error).message}`;
  }
}

export class ShareService {
  constructor(private readonly registry: VmRegistry) {}

  async list(ref: string): Promise<ShareList> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    return this.present(vm);
  }

  async add(req: AddRequest): Promise<ShareList> {
    const vm = this.registry.resolve(req.vm);
    await vm.safeRefresh();
    const path = req.path.length > 1 ? req.path.replace(/\/+$/, '') : req.path;
    const field = (message: string, key = 'path') =>
      new VivariumError('INVALID_REQUEST', message, { [key]: message });
    const pathProblem = sharePathProblem(path, req.mode) ?? (await shareFolderProblem(path));
    if (pathProblem) throw field(pathProblem);
    const roProblem = shareReadOnlyProblem(req.mode, req.readOnly);
    if (roProblem) throw field(roProblem, 'readOnly');
    const mode = (await shareModes()).find((m) => m.mode === req.mode);
    if (mode && !mode.ok && mode.reason) {
      throw new VivariumError(
        req.mode === 'smb' ? 'QEMU_MISSING' : 'INVALID_REQUEST',
        mode.reason,
        {
          mode: mode.reason,
        },
      );
    }
    await this.change(vm, SHARES_NEED_STOP, (c) => {
      if (c.shares.length >= SHARE_MAX) {
        throw new VivariumError(
          'RESOURCE_LIMIT',
          `"${c.name}" has ${SHARE_MAX} shared folders, the most a VM can have: remove one first`,
        );
      }
      const tag = req.tag ?? freeTag(c, tagFromPath(path));
      if (c.shares.some((s) => s.tag === tag)) {
        throw field(
          `"${c.name}" already has a shared folder tagged ${tag}: choose another tag`,
          'tag',
        );
      }
      const share: ShareConfig = { tag, path, readOnly: req.readOnly, mode: req.mode };
      const next = { ...c, shares: [...c.shares, share] };
      const smb = smbSharesProblem(next);
      if (smb) throw field(smb, 'mode');
      return next;
    });
    return this.present(vm);
  }

  async remove(ref: string, tag: string): Promise<ShareList> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    await this.change(vm, SHARES_NEED_STOP, (c) => {
      if (!c.shares.some((s) => s.tag === tag)) {
        throw new VivariumError(
          'NOT_FOUND',
          c.shares.length
            ? `"${c.name}" has no shared folder tagged ${tag}: its tags are ${c.shares.map((s) => s.tag).join(', ')}`
            : `"${c.name}" has no shared folders`,
        );
      }
      return { ...c, shares: c.shares.filter((s) => s.tag !== tag) };
    });
    return this.present(vm);
  }

  async setClipboard(ref: string, on: boolean): Promise<VmSummary> {
    const vm = this.registry.resolve(ref);
    await vm.safeRefresh();
    if (vm.config.clipboard === on) return vm.summary();
    return this.change(vm, CLIPBOARD_NEEDS_STOP, (c) => ({ ...c, clipboard: on }));
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Applies `change` to the config as it is on disk, with no QEMU on the VM (whoever started
   * it) and kept so: the VM's operations wait in line meanwhile.
   */
  private change(vm: Vm, needStop: string, change: (c: VmConfig) => VmConfig): Promise<VmSummary> {
    return vm.supervisor.serialize(async () => {
      const why = await lockedReason(vm, needStop);
      if (why) throw new VivariumError('BAD_STATE', why);
      return vm.update((c) => Promise.resolve(change(c)));
    });
  }

  private async present(vm: Vm): Promise<ShareList> {
    const modes = await shareModes();
    const c = vm.config;
    const smb = smbSharesProblem(c);
    const shares: ShareInfo[] = [];
    for (const config of c.shares) {
      const mode = modes.find((m) => m.mode === config.mode);
      const problem =
        (await shareFolderProblem(config.path)) ??
        (mode && !mode.ok ? mode.reason : null) ??
        (config.mode === 'smb' ? smb : null);
      shares.push({
        config,
        mountLine: guestMountLine(config),
        fstabLine: guestFstabLine(config),
        guestNeeds: guestNeeds(config.mode),
        problem,
      });
    }
    return {
      shares,
      modes,
      locked: await lockedReason(vm, SHARES_NEED_STOP),
      clipboard: c.clipboard,
    };
  }
}

/** Why the VM's shares cannot change now, or null (shut down, nothing saved). */
async function lockedReason(vm: Vm, needStop: string): Promise<string | null> {
  const state = vm.supervisor.current.state;
  if (isSaved(state)) return savedToChangeMessage(['shared folders and clipboard sharing']);
  const qemu = isLive(state) ? null : await liveQemuPid(vm.files.pidFile, vm.id);
  if (isLive(state) || qemu !== null) {
    return `"${vm.config.name}" is ${isLive(state) ? state : 'running'}. ${needStop}`;
  }
  return null;
}

/** `base`, or `base2`, `base3`...: the first tag no share of the VM has. */
function freeTag(c: VmConfig, base: string): string {
  const taken = new Set(c.shares.map((s) => s.tag));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const tag = `${base.slice(0, 29)}${n}`;
    if (!taken.has(tag)) return tag;
  }
}

/**
 * Shared folders (host folders the guest mounts) and clipboard sharing: listed with the line the
 * guest needs, added and removed while the VM is shut down.
 */
import { z } from 'zod';
import { SHARE_MODES, shareTagProblem, type ShareMode } from '../rules/shares';
import type { VmSummary } from './vm';
import { AbsolutePathSchema, VmRefSchema, type ShareConfig } from './vm-config';

export const ShareTagSchema = z
  .string()
  .trim()
  .superRefine((tag, ctx) => {
    const problem = shareTagProblem(tag);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const ShareAddRequestSchema = z.object({
  vm: VmRefSchema,
  /** A folder on this computer. */
  path: AbsolutePathSchema,
  /** The word the guest mounts it by; made from the folder's name when left out. */
  tag: ShareTagSchema.optional(),
  readOnly: z.boolean().default(false),
  mode: z.enum(SHARE_MODES).default('9p'),
});

export const shareMethods = {
  'share.list': z.object({ vm: VmRefSchema }),
  'share.add': ShareAddRequestSchema,
  'share.remove': z.object({ vm: VmRefSchema, tag: ShareTagSchema }),
  /** Clipboard sharing on or off (the VM shut down). */
  'clipboard.set': z.object({ vm: VmRefSchema, on: z.boolean() }),
} as const;

/** One share as the Hardware tab and `vivarium share list` show it. */
export interface ShareInfo {
  config: ShareConfig;
  /** The one command the guest runs to mount it (`mount -t 9p ...`, `net use Z: \\10.0.2.4\qemu`). */
  mountLine: string;
  /** The /etc/fstab line that mounts it at boot (Linux guests), or null. */
  fstabLine: string | null;
  /** What the guest needs to use it. */
  guestNeeds: string;
  /** Why the share would not work at the next start (the folder is gone, smbd missing...), or null. */
  problem: string | null;
}

/** Whether this computer can offer a share in a mode, and why not. */
export interface ShareModeAvailability {
  mode: ShareMode;
  ok: boolean;
  reason: string | null;
}

export interface ShareList {
  shares: ShareInfo[];
  modes: ShareModeAvailability[];
  /** Shares and the clipboard change only while the VM is shut down: why not now, or null. */
  locked: string | null;
  clipboard: boolean;
}

export interface ShareResults {
  'share.list': ShareList;
  'share.add': ShareList;
  'share.remove': ShareList;
  'clipboard.set': VmSummary;
}

/**
 * Shared folders and clipboard sharing: what a share may be called and point at, the line the
 * guest needs to use it, and why a snapshot, a save to disk or a migration cannot go ahead while
 * the guest uses one. The engine decides with these; the Hardware tab and the CLI show the same
 * words.
 */

/** How a folder reaches the guest: 9p (Linux), SMB through the NAT card (Windows), virtiofs. */
export const SHARE_MODES = ['9p', 'smb', 'virtiofs'] as const;
export type ShareMode = (typeof SHARE_MODES)[number];

export const SHARE_MODE_LABELS: Record<ShareMode, string> = {
  '9p': '9p (Linux guests)',
  smb: 'SMB (Windows guests)',
  virtiofs: 'virtiofs (Linux guests, faster)',
};

/** Shares a VM may have: each is a PCI device (9p, virtiofs) or a NAT card's SMB server. */
export const SHARE_MAX = 8;

/** virtiofs tags are at most 36 bytes in the guest's driver; 9p accepts longer ones. */
export const SHARE_TAG_MAX = 31;

/**
 * 9p's message size: the guest reads and writes at most this much per request. Linux's default
 * (8 KiB before 5.15, 128 KiB after) makes large copies crawl; 512 KiB is what QEMU's own docs
 * suggest and what QEMU 7.2 accepts with virtio.
 */
export const NINEP_MSIZE = 512 * 1024;

/** Where QEMU's user-mode network offers its SMB server to the guest (fixed by QEMU). */
export const SMB_GUEST_PATH = '\\\\10.0.2.4\\qemu';

/** Debian's samba package has the smbd that QEMU's `smb=` option runs. */
export const SMBD_PATH = '/usr/sbin/smbd';
export const SMB_INSTALL = 'sudo apt install samba';
export const SMBD_MISSING =
  `SMB sharing runs the host's Samba server (smbd), which is not installed: install it ` +
  `(Debian/Ubuntu: ${SMB_INSTALL}), or share the folder over 9p for a Linux guest.`;

/** Why a tag cannot name a share, or null. The guest mounts the share by this word. */
export function shareTagProblem(tag: string): string | null {
  if (!tag) return 'Give the share a tag: the guest mounts it by that word';
  if (tag.length > SHARE_TAG_MAX) return `Keep the tag to ${SHARE_TAG_MAX} characters`;
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(tag)) {
    return 'A tag is a short word: letters, digits, - and _, starting with a letter';
  }
  return null;
}

/** A tag made from a folder's name ("My Photos" -> "My_Photos"), or "share". */
export function tagFromPath(path: string): string {
  const base =
    path
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? '';
  const word = base
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^[^A-Za-z]+/, '')
    .slice(0, SHARE_TAG_MAX)
    .replace(/_+$/, '');
  return word || 'share';
}

/**
 * Why a host folder cannot be shared in `mode`, or null (whether it exists is the engine's to
 * check). 9p escapes commas (`,,`); virtiofsd splits its options on them with no escape at all.
 */
export function sharePathProblem(path: string, mode: ShareMode): string | null {
  if (!path.startsWith('/')) return 'Use an absolute path to a folder on this computer';
  if (path.includes('\0')) return 'The path contains a NUL byte';
  if (mode === 'virtiofs' && path.includes(',')) {
    return 'virtiofsd cannot share a folder whose path has a comma: rename it, or use 9p';
  }
  return null;
}

/** Why a share cannot be read-only in `mode`, or null. */
export function shareReadOnlyProblem(mode: ShareMode, readOnly: boolean): string | null {
  if (mode === 'virtiofs' && readOnly) {
    return 'virtiofsd 7.2 has no read-only mode: use 9p for a read-only share';
  }
  return null;
}

export interface ShareLike {
  tag: string;
  mode: ShareMode;
  readOnly: boolean;
}

/** Where the guest mounts a share, by its tag. */
export function guestMountPoint(tag: string): string {
  return `/mnt/${tag}`;
}

/** The one command the guest runs to use the share. */
export function guestMountLine(share: ShareLike): string {
  const ro = share.readOnly ? ',ro' : '';
  const at = guestMountPoint(share.tag);
  switch (share.mode) {
    case '9p':
      return `mkdir -p ${at} && mount -t 9p -o trans=virtio,version=9p2000.L,msize=${NINEP_MSIZE}${ro} ${share.tag} ${at}`;
    case 'virtiofs':
      return `mkdir -p ${at} && mount -t virtiofs ${share.tag} ${at}`;
    case 'smb':
      return `net use Z: ${SMB_GUEST_PATH}`;
  }
}

/** The /etc/fstab line that mounts the share at every boot (Linux guests), or null. */
export function guestFstabLine(share: ShareLike): string | null {
  const at = guestMountPoint(share.tag);
  const ro = share.readOnly ? ',ro' : '';
  switch (share.mode) {
    case '9p':
      return `${share.tag} ${at} 9p trans=virtio,version=9p2000.L,msize=${NINEP_MSIZE},nofail${ro} 0 0`;
    case 'virtiofs':
      return `${share.tag} ${at} virtiofs defaults,nofail 0 0`;
    case 'smb':
      return null;
  }
}

/** What the guest needs installed or loaded to use a share in `mode`. */
export function guestNeeds(mode: ShareMode): string {
  switch (mode) {
    case '9p':
      return 'Linux guests with the 9p and 9pnet_virtio modules (most distributions have them).';
    case 'virtiofs':
      return 'Linux 5.4 or later with the virtiofs module.';
    case 'smb':
      return 'Windows guests (or Linux with cifs-utils) on the VM’s NAT card; the share appears as \\\\10.0.2.4\\qemu.';
  }
}

/** QEMU 7.2 adds shares only at start (no fsdev_add over QMP, no smb on a live NAT card). */
export const SHARES_NEED_STOP =
  'Shut the VM down to add or remove shared folders: QEMU 7.2 cannot add or remove a 9p, virtiofs or SMB share while the VM runs.';

export const CLIPBOARD_NEEDS_STOP =
  'Shut the VM down to turn clipboard sharing on or off: QEMU adds its channel at start.';

export const CLIPBOARD_GUEST_NEEDS =
  'The guest needs spice-vdagent running (Debian/Ubuntu: sudo apt install spice-vdagent; Windows: the SPICE guest tools) and a graphical session.';

/** The operations a device in use can block. */
export type BlockedOperation = 'snapshot' | 'save' | 'migrate';

const TO: Record<BlockedOperation, string> = {
  snapshot: 'take a snapshot',
  save: 'save it to disk',
  migrate: 'migrate it',
};

/**
 * A 9p share the guest has mounted cannot be let go of while QEMU 7.2 runs (it registers a
 * migration blocker until the guest unmounts it), so the operation is refused before it starts.
 */
export function shareMountedMessage(tag: string, op: BlockedOperation): string {
  return (
    `The shared folder '${tag}' is mounted in the guest: unmount it ` +
    `(umount ${guestMountPoint(tag)}) or shut the VM down to ${TO[op]}.`
  );
}

/** The tags of a config's virtiofs shares, for the messages that name them. */
export function virtiofsTags(config: {
  shares: readonly { tag: string; mode: ShareMode }[];
}): string[] {
  return config.shares.filter((s) => s.mode === 'virtiofs').map((s) => s.tag);
}

/** A virtiofs share cannot be saved at all in QEMU 7.2 (vhost-user-fs is not migratable). */
export function virtiofsBlocksMessage(tags: readonly string[], op: BlockedOperation): string {
  const which = tags.length
    ? `The shared folder${tags.length > 1 ? 's' : ''} ${tags.map((t) => `'${t}'`).join(', ')} use${tags.length > 1 ? '' : 's'} virtiofs`
    : 'A shared folder uses virtiofs';
  return (
    `${which}, whose state QEMU 7.2 cannot save: shut the VM down to ${TO[op]}, or share the ` +
    'folder over 9p instead.'
  );
}

/**
 * The clipboard channel (qemu-vdagent) always blocks a save in QEMU 7.2. Snapshots detach it and
 * attach it again; a save to disk or a migration, whose other side starts with the channel
 * attached, cannot. `fromExtraArgs`: the channel is the user's own (-chardev qemu-vdagent in the
 * VM's extra QEMU arguments), not Vivarium's clipboard sharing.
 */
export function clipboardBlocksMessage(op: BlockedOperation, fromExtraArgs = false): string {
  const what = fromExtraArgs
    ? 'A qemu-vdagent chardev (clipboard) in the VM’s extra QEMU arguments'
    : 'Clipboard sharing (the qemu-vdagent channel)';
  const fix = fromExtraArgs
    ? 'remove the qemu-vdagent chardev from the VM’s extra QEMU arguments and restart the VM'
    : 'turn clipboard sharing off in the Hardware tab (with the VM shut down)';
  return (
    `${what} cannot be saved by QEMU 7.2, so Vivarium cannot ${TO[op]} while it is there: ` +
    `${fix}, or shut the VM down.`
  );
}

/** What a blocker message may know of the VM: its virtiofs shares, whether clipboard sharing is on. */
export interface BlockerContext {
  virtiofsTags: readonly string[];
  clipboard: boolean;
}

export function blockerContext(config: {
  shares: readonly { tag: string; mode: ShareMode }[];
  clipboard: boolean;
}): BlockerContext {
  return { virtiofsTags: virtiofsTags(config), clipboard: config.clipboard };
}

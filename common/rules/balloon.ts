/**
 * Which guests can use a memory balloon (virtio-balloon): the engine gives new VMs the device
 * where a driver exists, and the UI says what a guest needs before its memory can be changed live
 * or reported.
 */
import type { OsFamily } from '../contract/catalog';

export type BalloonDriver =
  /** In the OS out of the box (Linux, the BSDs). */
  | 'built-in'
  /** Installed separately (Windows: the virtio-win drivers and their balloon service). */
  | 'virtio-win'
  /** No driver exists (DOS, most alternative systems): the device would only sit there. */
  | 'none';

export function balloonDriver(family: OsFamily | null): BalloonDriver {
  switch (family) {
    case 'linux':
    case 'bsd':
      return 'built-in';
    case 'windows':
      return 'virtio-win';
    case 'dos':
    case 'solaris':
    case 'alternative':
      return 'none';
    // Unknown guests get the device: it costs nothing, and a guest with a driver uses it.
    case 'other':
    case null:
      return 'built-in';
  }
}

/** What the user is told about a guest's balloon driver, or null when it has one. */
export function balloonDriverNote(driver: BalloonDriver): string | null {
  switch (driver) {
    case 'built-in':
      return null;
    case 'virtio-win':
      return 'Install the virtio-win drivers (with the balloon service) in the guest to report and change its memory live.';
    case 'none':
      return 'This guest has no balloon driver: its memory can only change while it is shut down.';
  }
}

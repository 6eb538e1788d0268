import { describe, expect, it } from 'vitest';
import {
  cdromDisplayName,
  isUploaded,
  mediaDisplayName,
  plainOsName,
} from '../../common/media-names';

const SHA = 'ab'.repeat(32);
const cached = [
  {
    sha256: SHA,
    file: `/home/u/.local/share/vivarium/cache/media/${SHA}/debian-12.5.0-amd64-netinst.iso`,
    displayName: mediaDisplayName({
      filename: 'debian-12.5.0-amd64-netinst.iso',
      osName: 'Debian 12',
    }),
  },
];

describe('media names', () => {
  it('names an image by its file name and OS', () => {
    expect(cached[0]?.displayName).toBe('debian-12.5.0-amd64-netinst.iso (Debian 12)');
    expect(mediaDisplayName({ filename: 'mystery.iso', osName: null })).toBe('mystery.iso');
    expect(plainOsName('Debian 12 "bookworm"')).toBe('Debian 12');
    expect(plainOsName('Windows 11')).toBe('Windows 11');
    expect(isUploaded({ url: '' })).toBe(true);
    expect(isUploaded({ url: 'https://deb.debian.org/x.iso' })).toBe(false);
  });

  it('turns a CD-ROM path into the name people know, never the sha256 folder', () => {
    expect(cdromDisplayName(cached[0]?.file ?? '', cached)).toBe(
      'debian-12.5.0-amd64-netinst.iso (Debian 12)',
    );
    // The same cache seen through another path (a symlinked home): found by its folder.
    expect(
      cdromDisplayName(`/srv/vivarium/cache/media/${SHA}/debian-12.5.0-amd64-netinst.iso`, cached),
    ).toBe('debian-12.5.0-amd64-netinst.iso (Debian 12)');
    // Not in the list (not loaded yet, or deleted): the file's own name, not the folder.
    expect(cdromDisplayName(`/x/cache/media/${'cd'.repeat(32)}/my.iso`, cached)).toBe('my.iso');
    expect(cdromDisplayName('/home/u/isos/alpine-virt.iso', cached)).toBe('alpine-virt.iso');
    expect(cdromDisplayName(null, cached)).toBeNull();
  });
});

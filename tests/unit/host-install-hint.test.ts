import { describe, expect, it } from 'vitest';
import {
  installHint,
  linuxFamily,
  parseOsRelease,
  qemuImgMissingNotice,
  qemuMissingMessage,
  qemuTooOldMessage,
} from '../../electron/engine/host/install-hint';

const DEBIAN = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
`;
const UBUNTU = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n';
const MINT = 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n';
const FEDORA = 'NAME="Fedora Linux"\nID=fedora\n';
const ROCKY = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n';
const ARCH = 'NAME="Arch Linux"\nID=arch\n';
const MANJARO = 'NAME="Manjaro Linux"\nID=manjaro\nID_LIKE=arch\n';
const TUMBLEWEED =
  'NAME="openSUSE Tumbleweed"\nID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n';
const WEIRD = 'NAME="Weird OS"\nID=weird\n';

describe('parseOsRelease', () => {
  it('reads quoted, unquoted and escaped values and skips comments', () => {
    const r = parseOsRelease(
      `# comment\n${DEBIAN}QUOTE='single'\nESC="a \\"b\\" \\$c"\nbroken line\n`,
    );
    expect(r.ID).toBe('debian');
    expect(r.NAME).toBe('Debian GNU/Linux');
    expect(r.QUOTE).toBe('single');
    expect(r.ESC).toBe('a "b" $c');
    expect(Object.keys(r)).not.toContain('broken');
  });
});

describe('install command per OS', () => {
  it.each([
    [DEBIAN, 'debian', 'sudo apt install qemu-system-x86 qemu-utils'],
    [UBUNTU, 'debian', 'sudo apt install qemu-system-x86 qemu-utils'],
    [MINT, 'debian', 'sudo apt install qemu-system-x86 qemu-utils'],
    [FEDORA, 'fedora', 'sudo dnf install qemu-kvm qemu-img'],
    [ROCKY, 'fedora', 'sudo dnf install qemu-kvm qemu-img'],
    [ARCH, 'arch', 'sudo pacman -S qemu-full'],
    [MANJARO, 'arch', 'sudo pacman -S qemu-full'],
    [TUMBLEWEED, 'suse', 'sudo zypper install qemu-x86 qemu-tools'],
  ])('linux %#', (text, family, cmd) => {
    const osr = parseOsRelease(text);
    expect(linuxFamily(osr)).toBe(family);
    expect(installHint('linux', osr).qemu).toBe(cmd);
  });

  it('has a generic answer for unknown distributions and no os-release', () => {
    expect(linuxFamily(parseOsRelease(WEIRD))).toBe('unknown');
    expect(installHint('linux', parseOsRelease(WEIRD)).qemu).toMatch(/package manager/);
    expect(installHint('linux', null).qemu).toMatch(/7\.0 or newer/);
  });

  it('knows macOS and Windows', () => {
    expect(installHint('darwin', null).qemu).toBe('brew install qemu');
    expect(installHint('win32', null).qemu).toContain(
      'winget install SoftwareFreedomConservancy.QEMU',
    );
    expect(installHint('win32', null).qemu).toContain('qemu.org');
  });

  it('builds the messages a user sees', () => {
    const deb = parseOsRelease(DEBIAN);
    const missing = qemuMissingMessage('linux', deb);
    expect(missing).toContain('sudo apt install qemu-system-x86 qemu-utils');
    expect(missing).toContain('Debian GNU/Linux');
    expect(missing).toContain('VIVARIUM_QEMU_DIR');
    expect(qemuMissingMessage('darwin', null)).toContain('brew install qemu');
    const old = qemuTooOldMessage('/usr/bin/qemu-system-x86_64', '6.2.0', 'linux', deb);
    expect(old).toContain('QEMU 6.2.0 (/usr/bin/qemu-system-x86_64) is too old');
    expect(old).toContain('7.0 or newer');
    expect(qemuImgMissingNotice('linux', parseOsRelease(FEDORA))).toContain(
      'sudo dnf install qemu-img',
    );
  });
});

/**
 * The guest OS an appliance names, mapped to a catalogue entry (whose profile then fills what the
 * envelope leaves out). Three vocabularies: VirtualBox's OSType ("Debian_64", "Windows11_64"),
 * VMware's guest ids ("debian12_64Guest", "windows9_64Guest" for Windows 10), and the CIM
 * OperatingSystem ids of OVF's OperatingSystemSection (DSP0243 refers to CIM_OperatingSystem's
 * OSType value map), the least precise, tried last. Pure.
 */

/** Patterns over VirtualBox and VMware ids (matched case-insensitively, from the start). */
const BY_NAME: ReadonlyArray<[RegExp, string]> = [
  [/^windows11|^windows11_64/i, 'windows-11'],
  // VMware calls Windows 10 "windows9"; VirtualBox "Windows10".
  [/^windows10|^windows9(_64)?$/i, 'windows-10'],
  [/^windows7/i, 'windows-7'],
  [/^windowsxp|^winxp/i, 'windows-xp'],
  [/^debian/i, 'debian'],
  [/^ubuntu/i, 'ubuntu'],
  [/^fedora/i, 'fedora'],
  [/^almalinux/i, 'almalinux'],
  [/^rocky/i, 'rocky'],
  [/^centos/i, 'centos-stream'],
  [/^archlinux/i, 'archlinux'],
  [/^linuxmint|^mint/i, 'linuxmint'],
  [/^alpine/i, 'alpine'],
  [/^freebsd/i, 'freebsd'],
  [/^openbsd/i, 'openbsd'],
  [/^netbsd/i, 'netbsd'],
  [/^(dos|freedos)/i, 'freedos'],
  [/^haiku/i, 'haiku'],
];

/** CIM_OperatingSystem.OSType values that name a family the catalogue has. */
const BY_CIM: ReadonlyMap<number, string> = new Map([
  [14, 'freedos'], // MSDOS
  [42, 'freebsd'],
  [43, 'netbsd'],
  [65, 'openbsd'],
  [67, 'windows-xp'],
  [71, 'windows-xp'], // Windows XP 64-Bit
  [78, 'freebsd'], // FreeBSD 64-Bit
  [93, 'ubuntu'],
  [94, 'ubuntu'], // Ubuntu 64-Bit
  [95, 'debian'],
  [96, 'debian'], // Debian 64-Bit
  [105, 'windows-7'],
  [106, 'centos-stream'],
  [107, 'centos-stream'],
]);

/** VMware's catch-all guest ids end in "Guest"; strip it so "debian12_64Guest" reads "debian12_64". */
function bare(id: string): string {
  return id.replace(/Guest$/i, '');
}

/**
 * The catalogue entry for an appliance's OS, or 'generic' when nothing names one the catalogue
 * has; `source` is what the envelope said, for the summary.
 */
export function mapOsType(os: {
  cimId: number | null;
  description: string | null;
  vbox: string | null;
  vmw: string | null;
}): { entry: string; source: string | null } {
  for (const id of [os.vbox, os.vmw ? bare(os.vmw) : null]) {
    if (!id) continue;
    const hit = BY_NAME.find(([re]) => re.test(id));
    if (hit) return { entry: hit[1], source: id };
  }
  if (os.cimId !== null) {
    const hit = BY_CIM.get(os.cimId);
    if (hit)
      return {
        entry: hit,
        source: `CIM ${os.cimId}${os.description ? ` (${os.description})` : ''}`,
      };
  }
  if (os.description) {
    const hit = BY_NAME.find(([re]) => re.test(os.description?.replace(/\s+/g, '') ?? ''));
    if (hit) return { entry: hit[1], source: os.description };
  }
  const source =
    os.vbox ?? os.vmw ?? (os.cimId !== null ? `CIM ${os.cimId}` : null) ?? os.description;
  return { entry: 'generic', source };
}

/** The other direction, for export: a VirtualBox OSType and the CIM id for a catalogue entry. */
export function osTypeForEntry(
  entry: string,
  family: string | null,
): { cim: number; vbox: string; text: string } {
  const known: Record<string, { cim: number; vbox: string; text: string }> = {
    debian: { cim: 96, vbox: 'Debian_64', text: 'Debian 64-Bit' },
    ubuntu: { cim: 94, vbox: 'Ubuntu_64', text: 'Ubuntu 64-Bit' },
    fedora: { cim: 101, vbox: 'Fedora_64', text: 'Linux 64-Bit' },
    'windows-11': { cim: 103, vbox: 'Windows11_64', text: 'Microsoft Windows 11' },
    'windows-10': { cim: 103, vbox: 'Windows10_64', text: 'Microsoft Windows 10' },
    'windows-7': { cim: 105, vbox: 'Windows7_64', text: 'Microsoft Windows 7' },
    'windows-xp': { cim: 67, vbox: 'WindowsXP', text: 'Microsoft Windows XP' },
    freebsd: { cim: 78, vbox: 'FreeBSD_64', text: 'FreeBSD 64-Bit' },
    openbsd: { cim: 65, vbox: 'OpenBSD_64', text: 'OpenBSD' },
    netbsd: { cim: 43, vbox: 'NetBSD_64', text: 'NetBSD' },
    archlinux: { cim: 101, vbox: 'ArchLinux_64', text: 'Linux 64-Bit' },
    freedos: { cim: 14, vbox: 'DOS', text: 'DOS' },
  };
  const hit = known[entry];
  if (hit) return hit;
  if (family === 'linux') return { cim: 101, vbox: 'Linux_64', text: 'Linux 64-Bit' };
  return { cim: 102, vbox: 'Other_64', text: 'Other 64-Bit' };
}

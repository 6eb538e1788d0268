/**
 * The curated catalogue and the logos, bundled with the engine (the files in assets/ are the
 * source; the build inlines them, so a packaged app needs no asset folder). Add an entry: drop
 * its JSON in assets/catalog and import it here; tests/unit/catalog.test.ts checks every file
 * in that folder is listed.
 */
import almalinux from '../../../assets/catalog/almalinux.json';
import alpine from '../../../assets/catalog/alpine.json';
import archlinux from '../../../assets/catalog/archlinux.json';
import aros from '../../../assets/catalog/aros.json';
import centosStream from '../../../assets/catalog/centos-stream.json';
import debian from '../../../assets/catalog/debian.json';
import fedora from '../../../assets/catalog/fedora.json';
import freebsd from '../../../assets/catalog/freebsd.json';
import freedos from '../../../assets/catalog/freedos.json';
import generic from '../../../assets/catalog/generic.json';
import haiku from '../../../assets/catalog/haiku.json';
import kali from '../../../assets/catalog/kali.json';
import kolibrios from '../../../assets/catalog/kolibrios.json';
import linuxmint from '../../../assets/catalog/linuxmint.json';
import netbsd from '../../../assets/catalog/netbsd.json';
import openbsd from '../../../assets/catalog/openbsd.json';
import openindiana from '../../../assets/catalog/openindiana.json';
import reactos from '../../../assets/catalog/reactos.json';
import rocky from '../../../assets/catalog/rocky.json';
import ubuntu from '../../../assets/catalog/ubuntu.json';
import windows10 from '../../../assets/catalog/windows-10.json';
import windows11 from '../../../assets/catalog/windows-11.json';
import windows7 from '../../../assets/catalog/windows-7.json';
import windowsXp from '../../../assets/catalog/windows-xp.json';
import almalinuxLogo from '../../../assets/logos/almalinux.svg?raw';
import alpineLogo from '../../../assets/logos/alpine.svg?raw';
import alternativeLogo from '../../../assets/logos/alternative.svg?raw';
import archlinuxLogo from '../../../assets/logos/archlinux.svg?raw';
import arosLogo from '../../../assets/logos/aros.svg?raw';
import bsdLogo from '../../../assets/logos/bsd.svg?raw';
import centosLogo from '../../../assets/logos/centos.svg?raw';
import debianLogo from '../../../assets/logos/debian.svg?raw';
import dosLogo from '../../../assets/logos/dos.svg?raw';
import fedoraLogo from '../../../assets/logos/fedora.svg?raw';
import freebsdLogo from '../../../assets/logos/freebsd.svg?raw';
import freedosLogo from '../../../assets/logos/freedos.svg?raw';
import genericLogo from '../../../assets/logos/generic.svg?raw';
import haikuLogo from '../../../assets/logos/haiku.svg?raw';
import kaliLogo from '../../../assets/logos/kali.svg?raw';
import kolibriosLogo from '../../../assets/logos/kolibrios.svg?raw';
import linuxLogo from '../../../assets/logos/linux.svg?raw';
import linuxmintLogo from '../../../assets/logos/linuxmint.svg?raw';
import netbsdLogo from '../../../assets/logos/netbsd.svg?raw';
import openbsdLogo from '../../../assets/logos/openbsd.svg?raw';
import openindianaLogo from '../../../assets/logos/openindiana.svg?raw';
import reactosLogo from '../../../assets/logos/reactos.svg?raw';
import rockyLogo from '../../../assets/logos/rocky.svg?raw';
import solarisLogo from '../../../assets/logos/solaris.svg?raw';
import ubuntuLogo from '../../../assets/logos/ubuntu.svg?raw';
import windowsLogo from '../../../assets/logos/windows.svg?raw';

/** The raw entry files, validated by the loader. */
export const CURATED_FILES: Record<string, unknown> = {
  almalinux: almalinux,
  alpine: alpine,
  archlinux: archlinux,
  aros: aros,
  'centos-stream': centosStream,
  debian: debian,
  fedora: fedora,
  freebsd: freebsd,
  freedos: freedos,
  generic: generic,
  haiku: haiku,
  kali: kali,
  kolibrios: kolibrios,
  linuxmint: linuxmint,
  netbsd: netbsd,
  openbsd: openbsd,
  openindiana: openindiana,
  reactos: reactos,
  rocky: rocky,
  ubuntu: ubuntu,
  'windows-10': windows10,
  'windows-11': windows11,
  'windows-7': windows7,
  'windows-xp': windowsXp,
};

/** SVG text by logo name (the file name without .svg). */
export const LOGOS: Record<string, string> = {
  almalinux: almalinuxLogo,
  alpine: alpineLogo,
  alternative: alternativeLogo,
  archlinux: archlinuxLogo,
  aros: arosLogo,
  bsd: bsdLogo,
  centos: centosLogo,
  debian: debianLogo,
  dos: dosLogo,
  fedora: fedoraLogo,
  freebsd: freebsdLogo,
  freedos: freedosLogo,
  generic: genericLogo,
  haiku: haikuLogo,
  kali: kaliLogo,
  kolibrios: kolibriosLogo,
  linux: linuxLogo,
  linuxmint: linuxmintLogo,
  netbsd: netbsdLogo,
  openbsd: openbsdLogo,
  openindiana: openindianaLogo,
  reactos: reactosLogo,
  rocky: rockyLogo,
  solaris: solarisLogo,
  ubuntu: ubuntuLogo,
  windows: windowsLogo,
};

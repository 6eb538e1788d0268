/**
 * The New-VM wizard's model (features/wizard/model.ts): what each step still needs, the step
 * rail's captions, where the install media stands and the name offered. Pure functions of the
 * wizard's draft, fed with a real catalogue entry and the engine's own defaults for it.
 */
import { describe, expect, it } from 'vitest';
import type { HostInfo, MediaDetection, TaskInfo } from '../../common/contract';
import { loadCurated } from '../../electron/engine/catalog/catalog';
import { profileToCreateDefaults } from '../../electron/engine/catalog/profile';
import {
  derive,
  localIsoReady,
  suggestedName,
  uploadPercent,
} from '../../renderer/src/features/wizard/model';
import { WIZARD_INITIAL, type WizardState } from '../../renderer/src/stores/wizard';

const HOST: HostInfo = {
  platform: 'linux',
  arch: 'x64',
  cpus: 8,
  totalMemoryMiB: 16384,
  freeDiskBytes: 500 * 2 ** 30,
  dataDir: '/tmp/v',
  qemu: { binaries: [], img: null },
  qemuMissing: null,
  accelerators: [],
  bestAccelerator: 'tcg',
  notices: [],
  firmware: { seabios: null, ovmfCode: null, ovmfVars: null },
};

const debian = loadCurated().find((e) => e.id === 'debian')!;
const version = debian.versions[0]!;
const defaults = profileToCreateDefaults(debian, HOST, { version, versionGiven: true });

function state(patch: Partial<WizardState> = {}): WizardState {
  return {
    ...WIZARD_INITIAL,
    catalog: { status: 'idle' },
    entries: {},
    cached: { status: 'ready', value: [] },
    ...patch,
  };
}

/** Debian chosen in the catalogue, its defaults loaded and applied to the fields. */
function debianChosen(patch: Partial<WizardState> = {}): WizardState {
  return state({
    osId: debian.id,
    versionId: version.id,
    entries: { [debian.id]: { status: 'ready', value: debian } },
    defaults: { status: 'ready', value: defaults },
    memoryMiB: defaults.memoryMiB,
    cpus: defaults.cpus,
    diskGiB: 20,
    diskMode: 'new',
    name: 'Debian 13',
    ...patch,
  });
}

function downloadTask(state: TaskInfo['state'], progress: number, file?: string): TaskInfo {
  return {
    id: 'dl1',
    kind: 'media.download',
    title: 'Downloading Debian',
    vmId: null,
    state,
    progress,
    bytesDone: null,
    bytesTotal: null,
    bytesPerSecond: null,
    etaSeconds: null,
    message: null,
    error: null,
    result: file ? { file } : null,
    cancellable: true,
    startedAt: '2026-01-01T00:00:00Z',
    endedAt: null,
  };
}

function detection(file: string): MediaDetection {
  const best = {
    os: debian.id,
    name: 'Debian',
    version: version.id,
    versionName: version.name,
    arch: 'x86_64' as const,
    confidence: 'exact' as const,
    reason: 'volume id',
  };
  return {
    file,
    sizeBytes: 1,
    format: 'iso9660',
    iso: null,
    candidates: [best],
    best,
    arch: 'x86_64',
  };
}

describe('derive: what each step still needs', () => {
  it('a fresh draft needs an OS, defaults and a name', () => {
    const d = derive(state(), {}, [], HOST.totalMemoryMiB);
    expect(d.blockers).toEqual({
      os: 'Pick an operating system to go on',
      media: 'Nothing to download for this version: use an ISO file',
      account: null,
      resources: 'Loading…',
      name: 'Give the VM a name',
      summary: null,
    });
    expect(d.osName).toBe('the OS');
    expect(Object.values(d.captions).every((c) => c === null)).toBe(true);
  });

  it('Debian from the catalogue: only the download is missing', () => {
    const d = derive(debianChosen(), {}, [], HOST.totalMemoryMiB);
    expect(d.entry?.id).toBe('debian');
    expect(d.media.chosen).not.toBeNull();
    expect(d.blockers).toEqual({
      os: null,
      media: 'Download the install media, or use an ISO file you have',
      account: null,
      resources: null,
      name: null,
      summary: null,
    });
    expect(d.captions.os).toBe(d.osName);
    expect(d.captions.resources).toMatch(/^\S+ GiB · \d CPUs? · 20 GiB$/);
    expect(d.captions.name).toBe('Debian 13');
  });

  it('a running download holds the summary; a finished one is the CD-ROM', () => {
    const s = debianChosen({ downloadTaskId: 'dl1' });
    const running = derive(s, { dl1: downloadTask('running', 0.42) }, [], null);
    expect(running.media.downloading).toBe(true);
    expect(running.blockers.media).toBeNull();
    expect(running.blockers.summary).toBe('Waiting for the download to finish…');
    expect(running.captions.media).toBe('Downloading… 42%');
    const done = derive(s, { dl1: downloadTask('succeeded', 1, '/cache/debian.iso') }, [], null);
    expect(done.media.file).toBe('/cache/debian.iso');
    expect(done.blockers.media).toBeNull();
    expect(done.blockers.summary).toBeNull();
    expect(done.captions.media).toMatch(/ · ready$/);
  });

  it('an ISO of one’s own: a relative path, a check under way, then ready', () => {
    const iso = (patch: Partial<WizardState>) =>
      derive(debianChosen({ source: 'iso', mediaKind: 'local', ...patch }), {}, [], null);
    expect(iso({ isoPath: 'debian.iso' }).blockers.os).toBe('Use the full path (it starts with /)');
    const checking = iso({
      isoPath: '/isos/debian.iso',
      detection: { file: '/isos/debian.iso', state: { status: 'loading' } },
    });
    expect(checking.blockers.os).toBe('Checking the file…');
    expect(checking.blockers.media).toBe('Checking the file…');
    const ready = debianChosen({
      source: 'iso',
      mediaKind: 'local',
      isoPath: '/isos/debian.iso',
      detection: {
        file: '/isos/debian.iso',
        state: { status: 'ready', value: detection('/isos/debian.iso') },
      },
    });
    expect(localIsoReady(ready)).toBe(true);
    const d = derive(ready, {}, [], null);
    expect(d.blockers.os).toBeNull();
    expect(d.blockers.media).toBeNull();
    expect(d.media.file).toBe('/isos/debian.iso');
    expect(d.captions.media).toBe('debian.iso');
    // The field changed since the check: not ready any more.
    expect(localIsoReady({ ...ready, isoPath: '/isos/other.iso' })).toBe(false);
  });

  it('more memory than the host has, or a taken name, blocks their steps', () => {
    const d = derive(debianChosen({ memoryMiB: 32768, name: 'web' }), {}, ['Web'], 16384);
    expect(d.blockers.resources).toBe('This computer has 16 GiB: give the VM less.');
    expect(d.blockers.name).toBe('A VM called “Web” already exists: pick another name');
  });

  it('an existing disk image needs its full path', () => {
    const d = derive(debianChosen({ diskMode: 'existing', diskFile: 'disk.qcow2' }), {}, [], null);
    expect(d.blockers.resources).toBe('Give the full path of the disk image');
    expect(d.captions.resources).toMatch(/own disk$/);
  });
});

describe('the name offered', () => {
  it('follows the OS, unique in the library', () => {
    const s = debianChosen();
    const name = suggestedName(s, []);
    expect(name).toBe(derive(s, {}, [], null).osName);
    expect(suggestedName(s, [name])).toBe(`${name} (2)`);
    expect(suggestedName(s, [name, `${name} (2)`])).toBe(`${name} (3)`);
  });

  it('without an OS: the ISO file’s name, else "New VM"', () => {
    expect(suggestedName(state(), [])).toBe('New VM');
    expect(
      suggestedName(state({ mediaKind: 'local', isoPath: '/isos/my-distro-1.0.iso' }), []),
    ).toBe('my-distro-1.0');
  });
});

it('upload progress is a whole percentage, never above 100', () => {
  expect(uploadPercent({ bytesSent: 0, bytesTotal: 0 })).toBe(0);
  expect(uploadPercent({ bytesSent: 999, bytesTotal: 1000 })).toBe(99);
  expect(uploadPercent({ bytesSent: 1200, bytesTotal: 1000 })).toBe(100);
});

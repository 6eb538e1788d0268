/**
 * The wizard's ready-to-use path (features/wizard/cloud.ts, the cloud setup in model.ts) and the
 * guest phase the Overview and the library show (lib/guest.ts): pure functions, checked against
 * the contract's own schemas (what the wizard sends is what the engine accepts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CloudCreateSchema,
  CreateVmRequestSchema,
  VmConfigSchema,
  type CatalogEntry,
  type GuestDefaults,
  type GuestStatus,
  type MediaSpec,
  type TaskInfo,
  type VmState,
  type VmSummary,
} from '../../common/contract';
import { loadCurated } from '../../electron/engine/catalog/catalog';
import { profileToCreateDefaults } from '../../electron/engine/catalog/profile';
import {
  accountHostname,
  accountKeys,
  accountProblems,
  cloudCreate,
  firstAccountProblem,
  loginSummary,
  pastedKeyLines,
  prefillAccount,
} from '../../renderer/src/features/wizard/cloud';
import { cloudMedia, downloadableMedia } from '../../renderer/src/features/wizard/lib';
import { derive } from '../../renderer/src/features/wizard/model';
import { guestPhase } from '../../renderer/src/lib/guest';
import {
  ACCOUNT_INITIAL,
  WIZARD_INITIAL,
  wizardSteps,
  type AccountDraft,
  type WizardState,
} from '../../renderer/src/stores/wizard';

const ED =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx6uY1Ym0n7dX0pq2X3x2rTn1cZ0ZbD1oV6b0m5o2Wd me@laptop';
const RSA = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 me@old';

const HOST_DEFAULTS: GuestDefaults = {
  user: 'alice',
  sshKeys: [
    {
      file: '/home/alice/.ssh/id_ed25519.pub',
      type: 'ssh-ed25519',
      comment: 'me@laptop',
      line: ED,
    },
    { file: '/home/alice/.ssh/id_rsa.pub', type: 'ssh-rsa', comment: 'me@old', line: RSA },
  ],
  timezone: 'Europe/Paris',
  locale: 'fr_FR.UTF-8',
  keyboard: { layout: 'fr', variant: 'oss' },
  sshClient: true,
};

const prefilled = (patch: Partial<AccountDraft> = {}): AccountDraft => ({
  ...prefillAccount(ACCOUNT_INITIAL, HOST_DEFAULTS),
  ...patch,
});

describe('the account form', () => {
  it('prefilled from the host: every key ticked, nothing wrong', () => {
    const a = prefilled();
    expect(a).toMatchObject({ user: 'alice', timezone: 'Europe/Paris', keyboardVariant: 'oss' });
    expect(accountKeys(a, HOST_DEFAULTS)).toEqual([ED, RSA]);
    expect(accountProblems(a, HOST_DEFAULTS, 'Debian 13')).toEqual({});
  });

  it('keeps what the user typed before the defaults came', () => {
    const a = prefillAccount(
      { ...ACCOUNT_INITIAL, user: 'bob', locale: 'de_DE.UTF-8' },
      HOST_DEFAULTS,
    );
    expect(a).toMatchObject({ user: 'bob', locale: 'de_DE.UTF-8', timezone: 'Europe/Paris' });
  });

  it('says what is wrong with each field, in the form’s order', () => {
    const p = accountProblems(
      prefilled({
        user: 'root',
        pastedKeys: `${ED}\n-----BEGIN OPENSSH PRIVATE KEY-----`,
        password: 'pw',
        passwordConfirm: 'pv',
        hostname: 'bad_host',
        hostnameEdited: true,
        timezone: 'Europe Paris',
        keyboardLayout: 'FR',
      }),
      HOST_DEFAULTS,
      'x',
    );
    expect(p.user).toBe('"root" is a system account: choose another login name');
    expect(p.pastedKeys).toMatch(/^Key 2: That is a private key/);
    expect(p.passwordConfirm).toMatch(/differ/);
    expect(p.hostname).toMatch(/host name/);
    expect(p.timezone).toBe('A time zone looks like Europe/Paris or UTC');
    expect(p.keyboardLayout).toBe('A keyboard layout looks like us or de');
    expect(firstAccountProblem(p)).toBe(p.user);
    expect(firstAccountProblem({})).toBeNull();
  });

  it('a password needs its confirmation; none is fine (the VM’s own key is always there)', () => {
    expect(accountProblems(prefilled({ password: 'x' }), HOST_DEFAULTS, 'a').passwordConfirm).toBe(
      'Type the password again to confirm it',
    );
    const bare = prefilled({ keyFiles: [] });
    expect(accountProblems(bare, HOST_DEFAULTS, 'a')).toEqual({});
    expect(loginSummary(accountKeys(bare, HOST_DEFAULTS).length, false)).toBe(
      'Vivarium’s own key only',
    );
    expect(loginSummary(2, true)).toBe('2 SSH keys and a password');
  });

  it('the host name follows the VM’s name until edited; emptied, it follows again', () => {
    expect(accountHostname(prefilled(), 'My Debian 13!')).toBe('my-debian-13');
    expect(accountHostname(prefilled({ hostname: 'box', hostnameEdited: true }), 'Y')).toBe('box');
  });

  it('pasted keys: one a line, blank lines and comments skipped, each key once', () => {
    expect(pastedKeyLines(`\n# mine\n  ${ED}  \n\n${RSA}\n`)).toEqual([ED, RSA]);
    const a = prefilled({
      keyFiles: [HOST_DEFAULTS.sshKeys[0]!.file],
      pastedKeys: `${ED}\n${RSA}`,
    });
    expect(accountKeys(a, HOST_DEFAULTS)).toEqual([ED, RSA]);
  });

  it('what the form accepts, the contract accepts (and the other way round for user names)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.stringMatching(/^[a-z_][a-z0-9_-]{0,31}$/),
          fc.constantFrom('root', 'sshd', 'Dev', '9lives', ' dev '),
          fc.string({ maxLength: 40 }),
        ),
        fc.stringMatching(/^[A-Za-z0-9 ]{1,30}$/),
        fc.boolean(),
        (user, vmName, withPassword) => {
          const a = prefilled({
            user,
            ...(withPassword ? { password: 's3cret', passwordConfirm: 's3cret' } : {}),
          });
          const problems = accountProblems(a, HOST_DEFAULTS, vmName);
          const request = cloudCreate(a, HOST_DEFAULTS, vmName, '/cache/debian.qcow2', 'overlay');
          const parsed = CloudCreateSchema.safeParse(request);
          expect(parsed.success).toBe(Object.keys(problems).length === 0);
          if (parsed.success) {
            expect(parsed.data.hostname).toBe(accountHostname(a, vmName));
            const create = CreateVmRequestSchema.safeParse({
              name: vmName.trim() || 'vm',
              cloud: request,
            });
            expect(create.success).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('empty regional fields are left to the host’s', () => {
    const r = cloudCreate(
      prefilled({ timezone: '', locale: ' ', keyboardLayout: '' }),
      HOST_DEFAULTS,
      'vm',
      '/i.qcow2',
      'copy',
    );
    expect(r).not.toHaveProperty('timezone');
    expect(r).not.toHaveProperty('locale');
    expect(r).not.toHaveProperty('keyboard');
    expect(r.diskMode).toBe('copy');
  });
});

// A catalogue entry with an install ISO and a cloud image, the way the catalogue will give them.
const debian = loadCurated().find((e) => e.id === 'debian')!;
const CLOUD: MediaSpec = {
  id: 'genericcloud',
  label: 'Generic cloud image (amd64)',
  arch: 'x86_64',
  kind: 'cloud',
  diskFormat: 'qcow2',
  cloudInit: 'cloud-init',
  urls: ['https://cloud.debian.org/images/cloud/trixie/latest/{file}'],
  file: 'debian-13-genericcloud-amd64.qcow2',
  checksum: { urls: ['SHA512SUMS'], algorithm: 'sha512' },
};
const version = debian.versions[0]!;
const entry: CatalogEntry = {
  ...debian,
  versions: [
    { ...version, media: [...version.media.filter((m) => m.kind !== 'cloud'), CLOUD] },
    ...debian.versions.slice(1),
  ],
};
const HOST = {
  platform: 'linux' as const,
  arch: 'x64',
  cpus: 8,
  totalMemoryMiB: 16384,
  freeDiskBytes: 500 * 2 ** 30,
  dataDir: '/tmp/v',
  qemu: { binaries: [], img: null },
  qemuMissing: null,
  accelerators: [],
  bestAccelerator: 'tcg' as const,
  notices: [],
  firmware: { seabios: null, ovmfCode: null, ovmfVars: null },
};
const defaults = profileToCreateDefaults(entry, HOST, {
  version: entry.versions[0]!,
  versionGiven: true,
});

function cloudDraft(patch: Partial<WizardState> = {}): WizardState {
  return {
    ...WIZARD_INITIAL,
    catalog: { status: 'idle' },
    entries: { [entry.id]: { status: 'ready', value: entry } },
    cached: { status: 'ready', value: [] },
    osId: entry.id,
    versionId: entry.versions[0]!.id,
    setup: 'cloud',
    guestDefaults: { status: 'ready', value: HOST_DEFAULTS },
    account: prefilled({ user: 'dev' }),
    defaults: { status: 'ready', value: defaults },
    memoryMiB: defaults.memoryMiB,
    cpus: defaults.cpus,
    diskGiB: 20,
    name: 'Debian 13',
    ...patch,
  };
}

function task(state: TaskInfo['state'], progress: number, file?: string): TaskInfo {
  return {
    id: 'dl1',
    kind: 'media.download',
    title: 'Downloading',
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

describe('derive: the cloud setup', () => {
  it('cloud images and install media are offered apart', () => {
    expect(cloudMedia(entry.versions[0]).map((m) => m.id)).toEqual(['genericcloud']);
    expect(downloadableMedia(entry.versions[0]).some((m) => m.kind === 'cloud')).toBe(false);
  });

  it('goes through the account step; nothing blocks before the image is fetched', () => {
    const d = derive(cloudDraft(), {}, [], HOST.totalMemoryMiB);
    expect(d.steps).toEqual(['os', 'media', 'account', 'resources', 'name', 'summary']);
    expect(wizardSteps('iso')).not.toContain('account');
    expect(d.cloudAvailable).toBe(true);
    expect(d.media.chosen?.id).toBe('genericcloud');
    expect(d.blockers).toEqual({
      os: null,
      media: null,
      account: null,
      resources: null,
      name: null,
      summary: null,
    });
    expect(d.captions.media).toBe('Ready to use');
    expect(d.captions.account).toBe('dev · 2 SSH keys');
    expect(d.account.hostname).toBe('debian-13');
  });

  it('a download under way does not hold the summary (Create waits for it); done, it is the image', () => {
    const s = cloudDraft({ downloadTaskId: 'dl1' });
    const running = derive(s, { dl1: task('running', 0.3) }, [], null);
    expect(running.blockers.summary).toBeNull();
    expect(running.captions.media).toBe('Downloading… 30%');
    const done = derive(s, { dl1: task('succeeded', 1, '/cache/debian.qcow2') }, [], null);
    expect(done.media.file).toBe('/cache/debian.qcow2');
    expect(done.captions.media).toBe('Ready to use · image cached');
  });

  it('the account step waits for the host’s defaults, then names the first problem', () => {
    expect(
      derive(cloudDraft({ guestDefaults: { status: 'loading' } }), {}, [], null).blockers.account,
    ).toMatch(/Reading/);
    const bad = derive(cloudDraft({ account: prefilled({ user: 'Dev' }) }), {}, [], null);
    expect(bad.blockers.account).toMatch(/^Use a login name/);
  });

  it('the disk can only grow the image: below the minimum is an error, not advice', () => {
    const min = defaults.limits.diskGiB.min;
    const d = derive(cloudDraft({ diskGiB: Math.max(0.5, min - 1) }), {}, [], null);
    expect(d.blockers.resources).toMatch(/can only grow/);
    const iso = derive(cloudDraft({ setup: 'iso', diskGiB: Math.max(0.5, min - 1) }), {}, [], null);
    expect(iso.blockers.resources).toBeNull();
  });

  it('a version without a cloud image says so', () => {
    const noCloud = {
      ...entry,
      versions: [{ ...entry.versions[0]!, media: version.media.filter((m) => m.kind !== 'cloud') }],
    };
    const d = derive(
      cloudDraft({ entries: { [entry.id]: { status: 'ready', value: noCloud } } }),
      {},
      [],
      null,
    );
    expect(d.cloudAvailable).toBe(false);
    expect(d.blockers.media).toMatch(/No cloud image for this version/);
  });
});

describe('guestPhase', () => {
  const config = VmConfigSchema.parse({
    configVersion: 3,
    id: 'a1b2c3d4e5f6',
    name: 'vm',
    createdAt: '2026-01-01T00:00:00Z',
    memoryMiB: 256,
  });
  const cloudInit = {
    user: 'dev',
    hostname: 'vm',
    seed: 'cidata.iso',
    keyFile: 'id',
    userKeys: false,
    password: false,
    image: { file: '/i.qcow2', format: 'qcow2' as const, mode: 'overlay' as const },
  };
  const ready: GuestStatus = {
    ready: true,
    readyAt: '2026-01-01T00:00:48Z',
    readySeconds: 48,
    via: 'ssh',
    ssh: null,
    agent: null,
  };
  const vm = (state: VmState, guest: GuestStatus | null, cloud = true) =>
    ({
      config: { ...config, cloudInit: cloud ? cloudInit : null },
      runtime: { state } as VmSummary['runtime'],
      guest,
    }) as Pick<VmSummary, 'config' | 'runtime' | 'guest'>;

  it('a cloud guest: off, booting until it answers, ready, paused', () => {
    expect(guestPhase(vm('stopped', null))).toBe('off');
    expect(guestPhase(vm('starting', null))).toBe('booting');
    expect(guestPhase(vm('running', { ...ready, ready: false }))).toBe('booting');
    expect(guestPhase(vm('running', ready))).toBe('ready');
    expect(guestPhase(vm('paused', ready))).toBe('paused');
  });

  it('another VM shows nothing until its guest answered, so it never looks stuck booting', () => {
    expect(guestPhase(vm('running', { ...ready, ready: false }, false))).toBeNull();
    expect(guestPhase(vm('running', ready, false))).toBe('ready');
  });
});

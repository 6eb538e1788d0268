/**
 * VMs out to libvirt and back, on real libvirt (Debian's libvirt-daemon-system): the test starts
 * its own virtlogd and libvirtd (no systemd here) unless one already answers, and stops what it
 * started. As root it uses qemu:///system, where libvirt runs QEMU as libvirt-qemu and hands it
 * each file by owner (dynamic_ownership), so every folder on the way must let that user through.
 *
 *  - the fixture guest as a BIOS VM and as a UEFI VM, exported, `virsh define`d and started, and
 *    its banner read from the serial console through `virsh console` on a pty (util-linux script);
 *  - a domain made by `virt-install --import` on the fixture's disk and dumped with `virsh
 *    dumpxml`, imported into Vivarium (copied, then referenced) and booted by the engine.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LibvirtTaskResults, TaskInfo } from '../../common/contract';
import { savedRefusalMessage } from '../../common/rules/vm-settings';
import type { Engine } from '../../electron/engine';
import { errorOf, guest, guestMissingReason, waitFor, waitForText } from '../helpers/fixtures';
import { openGuestEngine, type GuestEngine } from '../helpers/guest-engine';

const run = promisify(execFile);
const URI = 'qemu:///system';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const have = (cmd: string, arg = '--version') => spawnSync(cmd, [arg]).error === undefined;
const skipReason = !isRoot
  ? 'libvirt tests run as root (qemu:///system): run them in CI or with sudo'
  : !have('libvirtd') || !have('virsh') || !have('virtlogd')
    ? 'libvirt is not installed: sudo apt install libvirt-daemon-system libvirt-clients'
    : !have('virt-install')
      ? 'virt-install is not installed: sudo apt install virtinst'
      : !have('script', '-V')
        ? 'script (util-linux) is missing'
        : guestMissingReason();
if (skipReason) console.warn(`libvirt: skipped (${skipReason})`);

let dir = '';
let iso = '';
let ge: GuestEngine | undefined;
let engine: Engine;
/** Daemons this test started (pid files), stopped after. */
const started: string[] = [];
const defined: string[] = [];

async function virsh(...args: string[]): Promise<string> {
  const { stdout } = await run('virsh', ['-c', URI, ...args], { timeout: 60_000 });
  return stdout;
}

async function answers(): Promise<boolean> {
  return run('virsh', ['-c', URI, 'version'], { timeout: 20_000 }).then(
    () => true,
    () => false,
  );
}

/**
 * Starts virtlogd and libvirtd in the background with pid files of ours. Where /dev/kvm exists
 * they get a mount namespace in which it is /dev/null: this host's KVM opens but does not run
 * guests (FIELD-NOTES), and libvirtd then re-probes QEMU's capabilities with it for 90 s or more
 * on a `virsh define`; without it the probe is TCG's and instant. The domains here say type="qemu"
 * (TCG) anyway.
 */
async function startDaemons(): Promise<void> {
  const pid = (bin: string) => join(dir, `${bin}.pid`);
  const script = [
    existsSync('/dev/kvm') ? 'mount --bind /dev/null /dev/kvm &&' : '',
    `virtlogd --daemon --pid-file ${pid('virtlogd')} &&`,
    `libvirtd --daemon --pid-file ${pid('libvirtd')}`,
  ].join(' ');
  started.push(pid('virtlogd'), pid('libvirtd'));
  await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
    timeout: 30_000,
  });
}

/** Ended: no such process, or a zombie nobody reaps (PID 1 in a container may not). */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function stopDaemons(): Promise<void> {
  for (const pidFile of started.reverse()) {
    const pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
    if (!pid) continue;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      continue;
    }
    await waitFor(() => gone(pid), `${pidFile} to end`, 15_000).catch(() =>
      process.kill(pid, 'SIGKILL'),
    );
  }
}

/**
 * The guest's console as `virsh console` shows it, read until `text` appears: virsh wants a
 * terminal, so util-linux's script gives it a pty. The whole group is killed after.
 */
async function consoleUntil(domain: string, text: string, timeoutMs: number): Promise<string> {
  const child = spawn(
    'script',
    ['-qfec', `virsh -c ${URI} console --force ${domain}`, '/dev/null'],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  try {
    await waitFor(() => out.includes(text), `"${text}" on ${domain}'s console`, timeoutMs);
    return out;
  } catch (err) {
    throw new Error(`${(err as Error).message}; it showed:\n${out.slice(-2000)}`);
  } finally {
    if (child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

async function exportVm(
  vm: string,
  to: string,
  disks: 'flatten' | 'carry' = 'flatten',
): Promise<LibvirtTaskResults['vm.exportLibvirt']> {
  // Nothing here runs dnsmasq, which libvirt's default network needs: QEMU's user network.
  const task: TaskInfo = await engine.call('vm.exportLibvirt', { vm, dir: to, disks, nat: 'user' });
  return (await engine.tasks.wait(task.id)) as LibvirtTaskResults['vm.exportLibvirt'];
}

async function importXml(
  xml: string,
  disks: 'copy' | 'reference',
  name?: string,
): Promise<LibvirtTaskResults['vm.importLibvirt']> {
  const task: TaskInfo = await engine.call('vm.importLibvirt', {
    xml,
    disks,
    ...(name ? { name } : {}),
  });
  return (await engine.tasks.wait(task.id)) as LibvirtTaskResults['vm.importLibvirt'];
}

describe.skipIf(skipReason !== null)('libvirt interop (real libvirtd)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'viv-libvirt-'));
    // libvirt-qemu reaches the disks through this folder.
    await chmod(dir, 0o711);
    iso = join(dir, 'guest.iso');
    // A copy: libvirt relabels what its guests use, and the fixture cache is shared.
    await copyFile(guest.iso, iso);
    await chmod(iso, 0o644);
    if (!(await answers())) {
      await startDaemons();
      await waitFor(answers, 'libvirtd to answer', 30_000);
    }
    ge = await openGuestEngine('viv-libvirt-home-');
    engine = ge.engine;
  });

  afterAll(async () => {
    for (const name of defined) {
      await virsh('destroy', name).catch(() => undefined);
      await virsh('undefine', name, '--nvram').catch(() =>
        virsh('undefine', name).catch(() => undefined),
      );
    }
    await ge?.close();
    await stopDaemons();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const firmware of ['bios', 'uefi'] as const) {
    const title =
      firmware === 'uefi'
        ? 'a UEFI VM with a TPM exported (variables and TPM state carried), defined and started by virsh prints its banner on virsh console, and comes back into Vivarium'
        : 'a BIOS VM exported, defined and started by virsh prints its banner on virsh console';
    it(
      title,
      async () => {
        const vm = await engine.call('vm.create', {
          name: `lv-${firmware}`,
          iso,
          firmware,
          machine: 'q35',
          // GRUB under OVMF needs room to place the fixture's kernel.
          memoryMiB: 384,
          cpus: 1,
          diskSize: '64M',
          // This host's KVM is unusable (see FIELD-NOTES): the domain says type="qemu".
          accel: 'tcg',
          tpm: firmware === 'uefi',
        });
        if (vm.config.tpm) {
          // swtpm makes the TPM's state at the first start: that is what the export carries.
          await engine.call('vm.start', { vm: vm.id });
          await waitFor(
            () => existsSync(join(vm.dir, 'tpm', 'tpm2-00.permall')),
            'the TPM state',
            30_000,
          );
          await engine.call('vm.powerOff', { vm: vm.id });
        }
        const to = join(dir, `export-${firmware}`);
        const res = await exportVm(vm.id, to);
        expect(res.xmlFile).toBe(join(to, `lv-${firmware}.xml`));
        expect(existsSync(join(to, `lv-${firmware}-disk0.qcow2`))).toBe(true);
        if (firmware === 'uefi') {
          // Raw, the size of OVMF's 4M variable template.
          const vars = join(to, `lv-${firmware}_VARS.fd`);
          expect(readFileSync(vars).length).toBe(
            readFileSync('/usr/share/OVMF/OVMF_VARS_4M.fd').length,
          );
        }
        const check = spawnSync('virt-xml-validate', [res.xmlFile, 'domain'], { encoding: 'utf8' });
        expect(check.status, check.stderr).toBe(0);
        expect(res.note.join('\n')).toMatch(/virsh -c qemu\+ssh:\/\/HOST\/system define/);

        // A run killed half way leaves its domains defined.
        await virsh('undefine', res.name, '--nvram').catch(() => undefined);
        if (vm.config.tpm) {
          // What the note says to run: libvirt keeps swtpm's state by domain UUID, owned by tss.
          const state = join(to, `lv-${firmware}-swtpm`, 'tpm2', 'tpm2-00.permall');
          expect(existsSync(state)).toBe(true);
          expect(res.note.join('\n')).toContain(`/var/lib/libvirt/swtpm/${res.uuid}`);
          const swtpmDir = `/var/lib/libvirt/swtpm/${res.uuid}`;
          await run('mkdir', ['-p', swtpmDir]);
          await run('cp', ['-a', join(to, `lv-${firmware}-swtpm`, 'tpm2'), `${swtpmDir}/`]);
          await run('chown', ['-R', 'tss:tss', swtpmDir]);
        }
        await virsh('define', res.xmlFile);
        defined.push(res.name);
        const xml = await virsh('dumpxml', res.name);
        expect(xml).toContain(`<uuid>${res.uuid}</uuid>`);
        if (vm.config.tpm) expect(xml).toMatch(/<tpm model='tpm-crb'>/);
        expect(xml).toMatch(/machine='pc-q35-7\.2'/);
        await virsh('start', res.name);
        const shown = await consoleUntil(
          res.name,
          guest.banner,
          firmware === 'uefi' ? 180_000 : 120_000,
        );
        expect(shown).toContain(guest.banner);
        await virsh('destroy', res.name);
        if (firmware !== 'uefi') return;

        // And back: the domain as libvirt now has it, imported with its UEFI variables, boots in
        // Vivarium.
        const back = await importXml(await virsh('dumpxml', res.name), 'copy', 'lv-uefi-back');
        expect(back.vm.config.firmware).toBe('uefi');
        expect(back.vm.config.machine).toBe('q35');
        expect(back.vm.config.cdrom).toBe(iso);
        expect(back.vm.config.bootOrder).toEqual(['cdrom', 'disk']);
        // The VM it came from is still here: its cards' MACs stay its own.
        expect(back.vm.config.nics).toHaveLength(vm.config.nics.length);
        expect(back.vm.config.nics[0]?.mac).not.toBe(vm.config.nics[0]?.mac);
        expect(back.vm.config.tpm).toBe(true);
        expect(back.unmapped.join('\n')).toMatch(/TPM's state/);
        expect(existsSync(join(back.vm.dir, 'uefi-vars.qcow2'))).toBe(true);
        await engine.call('vm.start', { vm: back.vm.id });
        await waitForText(join(back.vm.dir, 'logs', 'serial.log'), guest.banner, 180_000);
        await engine.call('vm.powerOff', { vm: back.vm.id });
      },
      400_000,
    );
  }

  it('refuses to overwrite an export, and to export a running VM', async () => {
    const vm = await engine.call('vm.get', { vm: 'lv-bios' });
    const again = await errorOf(
      engine.call('vm.exportLibvirt', { vm: vm.id, dir: join(dir, 'export-bios') }),
    );
    expect(again.message).toMatch(/already exists: choose another folder/);
    // Started paused (-S) is enough: the engine sees it running.
    await engine.call('vm.start', { vm: vm.id });
    try {
      const running = await errorOf(
        engine.call('vm.exportLibvirt', { vm: vm.id, dir: join(dir, 'export-running') }),
      );
      expect(running.message).toMatch(/shut it down to export it/);
      expect(existsSync(join(dir, 'export-running'))).toBe(false);
    } finally {
      await engine.call('vm.powerOff', { vm: vm.id });
    }
  });

  it('imports a domain made by virt-install --import and boots it in Vivarium (copied, then referenced)', async () => {
    const disk = join(dir, 'vi-disk.img');
    // The fixture ISO is a hybrid image: as a disk, SeaBIOS boots its GRUB.
    await copyFile(iso, disk);
    const { stdout } = await run(
      'virt-install',
      [
        '--connect',
        URI,
        '--name',
        'lv-virt-install',
        '--memory',
        '384',
        '--vcpus',
        '1',
        '--virt-type',
        'qemu',
        '--import',
        '--disk',
        `path=${disk},format=raw,bus=sata`,
        '--network',
        'user,model=e1000',
        '--graphics',
        'vnc',
        '--serial',
        'pty',
        '--osinfo',
        'detect=on,require=off',
        '--noautoconsole',
        '--print-xml',
      ],
      { timeout: 60_000 },
    );
    const printed = join(dir, 'virt-install.xml');
    await writeFile(printed, stdout);
    await virsh('undefine', 'lv-virt-install').catch(() => undefined);
    await virsh('define', printed);
    defined.push('lv-virt-install');
    const dumped = await virsh('dumpxml', 'lv-virt-install');

    const copied = await importXml(dumped, 'copy');
    const vm = copied.vm;
    expect(vm.name).toBe('lv-virt-install');
    expect(vm.config.machine).toBe('pc');
    expect(vm.config.memoryMiB).toBe(384);
    expect(vm.config.accel).toBe('tcg');
    expect(vm.config.disks).toEqual([
      expect.objectContaining({ id: 'disk0', file: 'disk0.qcow2', format: 'qcow2', bus: 'sata' }),
    ]);
    expect(vm.config.nics.map((n) => [n.model, n.attach.kind])).toEqual([['e1000', 'nat']]);
    expect(vm.config.nics[0]?.mac).toBe(/<mac address='([^']+)'/.exec(dumped)?.[1]);
    // virt-install's USB 2 companions and the pty console have no place in a Vivarium VM, and
    // need none; what it could not map is listed (the machine's version).
    expect(copied.unmapped.join('\n')).toMatch(/pc-i440fx-7\.2/);
    await engine.call('vm.start', { vm: vm.id });
    await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner, 120_000);
    await engine.call('vm.powerOff', { vm: vm.id });

    // Referenced: the VM uses the domain's own file.
    const referenced = await importXml(dumped, 'reference', 'lv-referenced');
    expect(referenced.vm.config.disks[0]).toEqual(
      expect.objectContaining({ file: disk, format: 'raw' }),
    );
    const taken = await errorOf(importXml(dumped, 'copy'));
    expect(taken.message).toMatch(/lv-virt-install/);
  }, 300_000);

  it('refuses what is not a domain, a domain whose disk is missing, and a name with "/"', async () => {
    const before = (await engine.call('vm.list', {})).length;
    expect((await errorOf(importXml('<network><name>x</name></network>', 'copy'))).message).toMatch(
      /not a libvirt domain \(its root element is <network>\)/,
    );
    const missing = `<domain type='qemu'><name>gone</name><memory unit='MiB'>256</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${dir}/nope.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
    expect((await errorOf(importXml(missing, 'copy'))).message).toMatch(
      /Disk 1 of the domain, .*nope\.qcow2, is missing/,
    );
    const slash = missing
      .replace('<name>gone</name>', '<name>a/b</name>')
      .replace(/<devices>.*<\/devices>/, '');
    expect((await errorOf(importXml(slash, 'copy'))).message).toMatch(/contains a "\/"/);
    expect((await engine.call('vm.list', {})).length).toBe(before);
  });
});

describe.skipIf(guestMissingReason() !== null)('export to libvirt, without libvirt', () => {
  it('refuses a VM saved to disk, saying why and what to do', async () => {
    const own = await openGuestEngine('viv-libvirt-saved-');
    try {
      const e = own.engine;
      const vm = await e.call('vm.create', {
        name: 'saved one',
        kernel: guest.kernel,
        initrd: guest.initrd,
        append: guest.append,
        memoryMiB: 128,
        cpus: 1,
        diskSize: '16M',
        network: 'none',
      });
      await e.call('vm.start', { vm: vm.id });
      await waitForText(join(vm.dir, 'logs', 'serial.log'), guest.banner);
      const task = await e.call('vm.suspend', { vm: vm.id });
      await e.tasks.wait(task.id);
      const to = join(own.home.dir, 'export');
      const refused = await errorOf(e.call('vm.exportLibvirt', { vm: vm.id, dir: to }));
      expect(refused.code).toBe('BAD_STATE');
      expect(refused.message).toBe(savedRefusalMessage('export'));
      expect(existsSync(to)).toBe(false);
      // Once its saved state is discarded it is simply off, and exports.
      await e.call('vm.discardState', { vm: vm.id });
      const res = await e.tasks.wait((await e.call('vm.exportLibvirt', { vm: vm.id, dir: to })).id);
      expect((res as LibvirtTaskResults['vm.exportLibvirt']).unmapped.join('\n')).toMatch(
        /boots the kernel/,
      );
    } finally {
      await own.close();
    }
  }, 120_000);
});

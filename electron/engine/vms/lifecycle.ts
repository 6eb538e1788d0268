/** A VM's life in the library: create (config, disk, UEFI variables), change settings, delete. */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CONFIG_VERSION,
  VmConfigSchema,
  type ApiResults,
  type CloudInitConfig,
  type NicConfig,
  type ParsedParams,
  type PortForward,
  type VmConfig,
  type VmSummary,
} from '../../../common/contract';
import {
  SECURE_BOOT_NEEDS,
  fieldsNeedingDiscard,
  fieldsNeedingStop,
  savedToChangeMessage,
  secureBootFits,
  stopToChangeMessage,
} from '../../../common/rules/vm-settings';
import {
  SSH_GUEST_PORT,
  SSH_HOST_PORT_FIRST,
  hostnameFromName,
} from '../../../common/rules/cloud-guest';
import { isLive, isSaved } from '../../../common/vm-state';
import { archConfigProblem, archDefaults, fitToArch } from '../../../common/arch';
import { balloonDriver } from '../../../common/rules/balloon';
import type { CatalogService } from '../catalog/service';
import { VivariumError } from '../errors';
import { archSupportOf } from '../host/arch-support';
import type { HostService } from '../host/host-service';
import { requireQemuImg, requireSecureBootFirmware, requireSwtpm } from '../host/require';
import { fileExists } from '../library/atomic-file';
import type { IntentJournal } from '../library/intents';
import type { VmRegistry } from '../library/registry';
import { diskPath } from '../qemu/args';
import { liveQemuPid } from '../qemu/pid-file';
import { assertNotLinkedBase } from '../library/clone-links';
import { KEPT_DISKS_MARKER, removeVmFolder } from '../library/orphans';
import { createNvram, createQcow2, parseSize } from '../storage/qemu-img';
import { hashPassword } from '../cloud-init/password';
import { guestDefaults } from '../guest/guest-defaults';
import { promisedPorts } from '../guest/auto-forwards';
import { pickFreePort } from '../guest/host-ports';
import { newMac, usedMacs } from '../network/mac';
import type { VmFiles } from '../paths';
import { checkReadableFile } from './file-checks';
import { SEED_FILE, VM_KEY_FILE, writeCloudSeed } from './cloud-seeds';
import { makeCloudDisk, planCloudDisk, type CloudDiskPlan } from './from-cloud-image';
import { checkTpmAndSecureBoot, type VmPatch } from './tpm-secure-boot';
import { uefiMissingMessage, uefiVarsTemplate, type UefiVarsStore } from './uefi-vars';

interface CloudParts {
  request: NonNullable<ParsedParams<'vm.create'>['cloud']>;
  regional: { timezone: string; locale: string; keyboard: { layout: string; variant?: string } };
  forward: PortForward;
  config: CloudInitConfig;
}

export class VmLifecycle {
  constructor(
    private readonly registry: VmRegistry,
    private readonly host: HostService,
    private readonly catalog: CatalogService,
    private readonly uefiVars: UefiVarsStore,
    private readonly journal: IntentJournal,
    /** Whether new VMs reach the internet unless the request says (VIVARIUM_GUEST_INTERNET=0: no). */
    private readonly newVmInternet = true,
  ) {}

  async create(request: ParsedParams<'vm.create'>): Promise<VmSummary> {
    this.registry.assertNameFree(request.name);
    const host = await this.host.get();
    // With `os`, the catalogue's profile fills what the request leaves out.
    const req = await this.catalog.applyProfile(request, host);
    if (req.iso) await checkReadableFile(req.iso, 'ISO image');
    if (req.kernel) await checkReadableFile(req.kernel, 'kernel');
    if (req.initrd) await checkReadableFile(req.initrd, 'initrd');
    const memoryMiB =
      req.memoryMiB ?? Math.min(2048, Math.max(256, Math.floor(host.totalMemoryMiB / 4)));
    if (memoryMiB > host.totalMemoryMiB) {
      throw new VivariumError(
        'RESOURCE_LIMIT',
        `${memoryMiB} MiB is more memory than this computer has (${host.totalMemoryMiB} MiB); give the VM less.`,
        { memoryMiB: `At most ${host.totalMemoryMiB} MiB` },
      );
    }
    const cpus = req.cpus ?? Math.min(2, host.cpus);
    if (cpus > host.cpus) {
      throw new VivariumError(
        'RESOURCE_LIMIT',
        `This computer has ${host.cpus} CPUs; give the VM at most ${host.cpus}.`,
        { cpus: `At most ${host.cpus}` },
      );
    }
    const cloudDisk = req.cloud
      ? await planCloudDisk(
          requireQemuImg(host),
          req.cloud.image,
          parseSize(req.diskSize ?? '0'),
          req.cloud.diskMode,
        )
      : null;
    const diskBytes =
      cloudDisk?.sizeBytes ?? parseSize(req.diskSize ?? (req.kernel && !req.iso ? '0' : '20G'));
    const arch = req.arch ?? 'x86_64';
    const preset = archDefaults(arch);
    // What the request gave itself must fit the architecture (refused below, saying what to
    // change); what the OS profile filled in for an x86 PC moves to the preset's choice.
    const given = <T>(value: T | undefined, fromRequest: T | undefined, fallback: T): T =>
      fromRequest !== undefined || arch === 'x86_64' ? (value ?? fallback) : fallback;
    const firmware = given(req.firmware, request.firmware, preset.firmware);
    const machine = given(req.machine, request.machine, preset.machine);
    const uefiFound =
      arch === 'x86_64'
        ? Boolean(host.firmware.ovmfCode && host.firmware.ovmfVars)
        : Boolean(archSupportOf(host, arch)?.uefi);
    if (firmware === 'uefi' && !uefiFound) {
      throw new VivariumError('QEMU_MISSING', uefiMissingMessage(arch));
    }
    const tpm = req.tpm ?? false;
    const secureBoot = req.secureBoot ?? false;
    if (secureBoot && !secureBootFits({ firmware, machine })) {
      throw new VivariumError('INVALID_REQUEST', SECURE_BOOT_NEEDS);
    }
    if (secureBoot) requireSecureBootFirmware(host);
    if (tpm) requireSwtpm(host);
    if (diskBytes > 0 || firmware === 'uefi') requireQemuImg(host);

    // Linux and BSD guests ship the QEMU guest agent; the channel costs nothing where none runs.
    const family = req.os
      ? await this.catalog.resolve(req.os).then(
          (r) => r.entry.family,
          () => null,
        )
      : null;
    const { id, files } = this.registry.newVmFiles();
    const cloud = req.cloud ? await this.cloudParts(req.name, req.cloud, cloudDisk) : null;
    const config = VmConfigSchema.parse({
      configVersion: CONFIG_VERSION,
      id,
      name: req.name,
      os: req.os,
      notes: req.notes ?? '',
      createdAt: new Date().toISOString(),
      arch,
      machine,
      firmware,
      cpu: { model: preset.cpuModel, count: cpus },
      memoryMiB,
      disks:
        diskBytes > 0
          ? [
              {
                id: 'disk0',
                file: 'disk0.qcow2',
                format: 'qcow2',
                // Cloud images boot kernels with virtio and often without AHCI.
                bus: cloud ? 'virtio' : given(req.diskBus, request.diskBus, preset.diskBus),
                readOnly: false,
              },
            ]
          : [],
      cdrom: req.iso ?? null,
      bootOrder: req.iso ? ['cdrom', 'disk'] : cloud ? ['disk'] : ['disk', 'cdrom'],
      kernelBoot: req.kernel
        ? {
            kernel: req.kernel,
            ...(req.initrd ? { initrd: req.initrd } : {}),
            append: req.append ?? '',
          }
        : null,
      nics: firstNic(req, cloud?.forward ?? null, this.newVmInternet, () =>
        newMac(usedMacs(this.registry.list().map((vm) => vm.config))),
      ),
      video: given(req.video, request.video, preset.video),
      usbTablet: req.usbTablet ?? true,
      sound: given(req.sound, request.sound, preset.sound),
      tpm,
      secureBoot,
      accel: req.accel ?? 'auto',
      guestAgent: req.guestAgent ?? (cloud !== null || family === 'linux' || family === 'bsd'),
      balloon: req.balloon ?? balloonDriver(family) !== 'none',
      cloudInit: cloud?.config ?? null,
      extraArgs: [],
    });
    if (arch !== 'x86_64') {
      // Cards the profile picked for a PC (e1000...) take the preset's; the user's own stay.
      if (request.nicModel === undefined) {
        config.nics = fitToArch({ ...config, cpuModel: config.cpu.model }, arch).nics;
      }
      const problem = archConfigProblem(config);
      if (problem) throw new VivariumError('INVALID_REQUEST', problem);
    }
    const intent = await this.journal.begin('vm.create', {
      vmIds: [id],
      paths: [files.dir],
      data: { vmId: id, dir: files.dir, name: req.name, what: `Creating "${req.name}"` },
    });
    try {
      await intent.step('folder');
      await mkdir(files.logsDir, { recursive: true, mode: 0o700 });
      await intent.step('disk');
      if (cloud && cloudDisk && host.qemu.img) {
        await makeCloudDisk(host.qemu.img.path, cloudDisk, join(files.dir, 'disk0.qcow2'));
        await intent.step('seed');
        await this.writeCloudSeed(files, config, cloud);
      } else if (diskBytes > 0 && host.qemu.img) {
        await createQcow2(host.qemu.img.path, join(files.dir, 'disk0.qcow2'), diskBytes);
      }
      await intent.step('nvram');
      const vars = uefiVarsTemplate(host, arch, secureBoot);
      if (firmware === 'uefi' && host.qemu.img && vars) {
        await createNvram(host.qemu.img.path, vars, files.nvram);
      }
      await intent.step('config');
      const summary = (await this.registry.add(config, files)).summary();
      await intent.end();
      return summary;
    } catch (err) {
      // Nothing of a half-made VM stays behind.
      await rm(files.dir, { recursive: true, force: true });
      await intent.discard();
      throw err;
    }
  }

  /**
   * What a cloud guest's config says (login, host name, image) and its SSH forward, on a host port
   * no other VM is promised. The key and the seed are written later, inside the create's intent.
   */
  private async cloudParts(
    name: string,
    cloud: NonNullable<ParsedParams<'vm.create'>['cloud']>,
    disk: CloudDiskPlan | null,
  ): Promise<CloudParts> {
    if (!disk) throw new VivariumError('INTERNAL', 'A cloud guest without its disk plan');
    const promised = promisedPorts(this.registry.list());
    const hostPort = await pickFreePort('127.0.0.1', SSH_HOST_PORT_FIRST, promised);
    const defaults = await guestDefaults();
    return {
      request: cloud,
      regional: {
        timezone: cloud.timezone ?? defaults.timezone,
        locale: cloud.locale ?? defaults.locale,
        keyboard: cloud.keyboard ?? defaults.keyboard,
      },
      forward: {
        protocol: 'tcp',
        hostAddress: '127.0.0.1',
        hostPort,
        guestPort: SSH_GUEST_PORT,
        auto: true,
      },
      config: {
        user: cloud.user,
        hostname: cloud.hostname ?? hostnameFromName(name),
        seed: SEED_FILE,
        keyFile: VM_KEY_FILE,
        userKeys: cloud.sshKeys.length > 0,
        password: cloud.password !== undefined,
        image: { file: disk.image, format: disk.format, mode: disk.mode },
      },
    };
  }

  /** Vivarium's key for the VM, then the seed that authorises it beside the user's own keys. */
  private async writeCloudSeed(files: VmFiles, config: VmConfig, cloud: CloudParts): Promise<void> {
    await writeCloudSeed(files, config, {
      user: cloud.config.user,
      hostname: cloud.config.hostname,
      sshKeys: cloud.request.sshKeys,
      ...(cloud.request.password ? { passwordHash: hashPassword(cloud.request.password) } : {}),
      ...cloud.regional,
    });
  }

  async update(ref: string, patch: VmPatch): Promise<VmSummary> {
    const vm = this.registry.resolve(ref);
    // A CLI command's engine has not looked at the VM yet: find out whether QEMU runs it.
    const seen = await vm.supervisor.refresh().catch(() => vm.supervisor.current);
    return vm.supervisor.serialize(async () => {
      const runtime = vm.supervisor.current;
      const blocked = fieldsNeedingStop(Object.keys(patch));
      if ((isLive(runtime.state) || isLive(seen.state)) && blocked.length) {
        throw new VivariumError('BAD_STATE', stopToChangeMessage(blocked));
      }
      const frozen = fieldsNeedingDiscard(Object.keys(patch));
      if ((isSaved(runtime.state) || isSaved(seen.state)) && frozen.length) {
        throw new VivariumError('BAD_STATE', savedToChangeMessage(frozen));
      }
      if (patch.name !== undefined) this.registry.assertNameFree(patch.name, vm.config.id);
      if (patch.memoryMiB !== undefined) {
        const host = await this.host.get();
        if (patch.memoryMiB > host.totalMemoryMiB) {
          throw new VivariumError(
            'RESOURCE_LIMIT',
            `${patch.memoryMiB} MiB is more memory than this computer has (${host.totalMemoryMiB} MiB).`,
            { memoryMiB: `At most ${host.totalMemoryMiB} MiB` },
          );
        }
      }
      if (patch.cdrom) await checkReadableFile(patch.cdrom, 'ISO image');
      // Applied to vm.json as it is on disk under the VM's lock: another process's change to
      // other fields (a `set --cpus` beside this `set --memory`) is kept.
      const change = async (c: VmConfig): Promise<VmConfig> => {
        const next = applyPatch(c, patch);
        const problem = archConfigProblem(next);
        if (problem) throw new VivariumError('INVALID_REQUEST', problem);
        await checkTpmAndSecureBoot(this.host, c, next, patch);
        return next;
      };
      // Set inside the commit step, read after it failed (a box: TypeScript does not track closures).
      const made: { nvram: string | null } = { nvram: null };
      try {
        return await vm.update(change, async (next, c) => {
          // The UEFI variable store must come from the template that matches Secure Boot:
          // Microsoft's keys enrolled with it, none without (OVMF's plain build enforces Secure
          // Boot too once keys are enrolled). A new one is made beside the old, and only renamed
          // over it once the config that needs it is saved. A VM switched to BIOS keeps a
          // matching store for its way back to UEFI, when this host has the template.
          const hasNvram = await fileExists(vm.files.nvram);
          const wanted =
            (next.firmware === 'uefi' && !hasNvram) ||
            // Another architecture's firmware (AAVMF for OVMF) reads another store.
            (next.firmware === 'uefi' && next.arch !== c.arch) ||
            (hasNvram &&
              next.secureBoot !== c.secureBoot &&
              (next.firmware === 'uefi' ||
                (await this.uefiVars.hasTemplate(next.secureBoot, next.arch))));
          if (!wanted) return;
          made.nvram = await this.uefiVars.prepare(vm, next.secureBoot, next.arch);
          await rename(made.nvram, vm.files.nvram);
        });
      } catch (err) {
        if (made.nvram) await rm(made.nvram, { force: true });
        throw err;
      }
    });
  }

  async delete(ref: string, keepDisks: boolean): Promise<ApiResults['vm.delete']> {
    const vm = this.registry.resolve(ref);
    const runtime = await vm.supervisor.refresh().catch(() => vm.supervisor.current);
    const remove = async (): Promise<ApiResults['vm.delete']> => {
      // Any live QEMU on the VM counts, whoever started it and whether or not this engine could
      // reach it: its disks must not go from under the guest.
      const qemu = await liveQemuPid(vm.files.pidFile, vm.id);
      if (isLive(runtime.state) || isLive(vm.supervisor.current.state) || qemu !== null) {
        const state = isLive(runtime.state) ? runtime.state : 'running';
        throw new VivariumError(
          'BAD_STATE',
          `"${vm.config.name}" is ${state}: shut it down before deleting it.`,
        );
      }
      await assertNotLinkedBase(this.registry, vm);
      const kept: string[] = [];
      if (keepDisks) {
        // Says the folder's lack of a vm.json is on purpose (library/orphans.ts leaves it be).
        const marker = join(vm.files.dir, KEPT_DISKS_MARKER);
        await writeFile(
          marker,
          `${JSON.stringify({ name: vm.config.name, deletedAt: new Date().toISOString() })}\n`,
        );
        const diskFiles = new Set(vm.config.disks.map((d) => diskPath(vm.files.dir, d)));
        for (const name of await readdir(vm.files.dir)) {
          const full = join(vm.files.dir, name);
          // A frozen linked-clone base is part of the kept disks' backing chain.
          if (full === marker) continue;
          if (diskFiles.has(full) || /^base-.*\.qcow2$/.test(name)) kept.push(full);
          else await rm(full, { recursive: true, force: true });
        }
        // Without vm.json the folder is no longer a VM: the marker says what it holds and why.
        if (kept.length === 0) await removeVmFolder(this.registry.paths, vm.files.dir);
      } else {
        await removeVmFolder(this.registry.paths, vm.files.dir);
      }
      await rm(vm.files.run, { recursive: true, force: true });
      this.registry.remove(vm);
      return { deleted: true as const, keptFiles: kept };
    };
    // Under the VM's lock and its start lock: no other process changes or starts it meanwhile.
    return vm.supervisor.serialize(() =>
      vm.locked(() => this.registry.locks.start(vm.files, vm.config.name, remove)),
    );
  }
}

/** A new VM's one card (none for `--network none`): NAT unless the request names its cable. */
function firstNic(
  req: ParsedParams<'vm.create'>,
  forward: PortForward | null,
  internet: boolean,
  mac: () => string,
): NicConfig[] {
  const attach = req.network ?? { kind: 'nat' as const };
  if (attach.kind === 'none') return [];
  return [
    {
      model: req.nicModel ?? 'virtio-net-pci',
      mac: mac(),
      attach:
        attach.kind === 'nat'
          ? { kind: 'nat', forwards: forward ? [forward] : [], internet: req.internet ?? internet }
          : attach,
    },
  ];
}

/** The config with `patch`'s fields in it (validated by the caller). */
/** The config moved to another architecture: what its preset lacks takes the preset's choice. */
function moveToArch(c: VmConfig, arch: VmConfig['arch']): VmConfig {
  if (arch === c.arch) return c;
  const { cpuModel, ...fitted } = fitToArch({ ...c, cpuModel: c.cpu.model }, arch);
  return { ...c, ...fitted, cpu: { ...c.cpu, model: cpuModel } };
}

function applyPatch(current: VmConfig, patch: VmPatch): VmConfig {
  const c = patch.arch !== undefined ? moveToArch(current, patch.arch) : current;
  return VmConfigSchema.parse({
    ...c,
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.notes !== undefined ? { notes: patch.notes } : {}),
    ...(patch.confirmDestructive !== undefined
      ? { confirmDestructive: patch.confirmDestructive }
      : {}),
    ...(patch.memoryMiB !== undefined ? { memoryMiB: patch.memoryMiB } : {}),
    cpu: { model: patch.cpuModel ?? c.cpu.model, count: patch.cpuCount ?? c.cpu.count },
    ...(patch.machine !== undefined ? { machine: patch.machine } : {}),
    ...(patch.firmware !== undefined ? { firmware: patch.firmware } : {}),
    ...(patch.cdrom !== undefined ? { cdrom: patch.cdrom } : {}),
    ...(patch.bootOrder !== undefined ? { bootOrder: patch.bootOrder } : {}),
    ...(patch.video !== undefined ? { video: patch.video } : {}),
    ...(patch.sound !== undefined ? { sound: patch.sound } : {}),
    ...(patch.usbTablet !== undefined ? { usbTablet: patch.usbTablet } : {}),
    // Turning the TPM off keeps its state folder (files.tpmStateDir): BitLocker or LUKS keys
    // sealed to the TPM live there, and turning it back on brings them back. Only deleting the
    // VM removes it. QEMU and swtpm only look at it while `tpm` is on (the launch plan).
    ...(patch.tpm !== undefined ? { tpm: patch.tpm } : {}),
    ...(patch.secureBoot !== undefined ? { secureBoot: patch.secureBoot } : {}),
    ...(patch.accel !== undefined ? { accel: patch.accel } : {}),
    ...(patch.kernelBoot !== undefined ? { kernelBoot: patch.kernelBoot } : {}),
    ...(patch.extraArgs !== undefined ? { extraArgs: patch.extraArgs } : {}),
    ...(patch.balloon !== undefined ? { balloon: patch.balloon } : {}),
  });
}

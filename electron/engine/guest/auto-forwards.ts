/**
 * Forwards Vivarium picked the host port of (a ready-to-use guest's SSH) follow the host: when
 * another program took the port while the VM was off, the VM moves to a free one before QEMU
 * starts, instead of failing to start. Forwards the user chose stay as they are.
 */
import type { VmConfig } from '../../../common/contract';
import type { Vm } from '../library/vm';
import { liveQemuPid } from '../qemu/pid-file';
import { pickFreePort, tcpPortFree } from './host-ports';
import { natForwards } from './ssh-access';

export async function moveTakenAutoForwards(
  vm: Vm,
  promised: () => ReadonlySet<number>,
): Promise<void> {
  const auto = natForwards(vm.config).filter((f) => f.auto && f.protocol === 'tcp');
  if (auto.length === 0) return;
  // A running QEMU holds these ports itself; the start will say it runs.
  if ((await liveQemuPid(vm.files.pidFile, vm.id)) !== null) return;
  const taken: number[] = [];
  for (const f of auto) {
    if (!(await tcpPortFree(f.hostAddress, f.hostPort))) taken.push(f.hostPort);
  }
  if (taken.length === 0) return;
  await vm.update(async (c) => {
    const others = new Set(promised());
    const nics = [];
    for (const nic of c.nics) {
      if (nic.attach.kind !== 'nat') {
        nics.push(nic);
        continue;
      }
      const forwards = [];
      for (const f of nic.attach.forwards) {
        if (f.auto && f.protocol === 'tcp' && taken.includes(f.hostPort)) {
          const hostPort = await pickFreePort(f.hostAddress, f.hostPort + 1, others);
          others.add(hostPort);
          forwards.push({ ...f, hostPort });
        } else {
          forwards.push(f);
        }
      }
      nics.push({ ...nic, attach: { ...nic.attach, forwards } });
    }
    return { ...c, nics };
  });
}

/** Host TCP ports the library's VMs have forwards on, started or not (but `exceptVm`'s). */
export function promisedPorts(
  vms: readonly { config: VmConfig }[],
  exceptVm?: string,
): Set<number> {
  return new Set(
    vms
      .filter((vm) => vm.config.id !== exceptVm)
      .flatMap((vm) => natForwards(vm.config))
      .filter((f) => f.protocol === 'tcp')
      .map((f) => f.hostPort),
  );
}

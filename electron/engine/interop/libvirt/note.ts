/**
 * What an export tells the user to type next: define and start the domain here, and move it to
 * another libvirt host (the XML names the disks by path, so they go to the same folder there, and
 * rsync -S keeps a thin qcow2 thin). Pure, so the CLI and the UI show the same.
 */

/** A word for a POSIX shell: quoted when it needs to be. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

export interface ExportNoteFacts {
  dir: string;
  xmlFile: string;
  name: string;
  uuid: string;
  /** The exported TPM state folder (its tpm2/ goes under /var/lib/libvirt/swtpm/UUID/). */
  tpmState: string | null;
  nat: 'network' | 'user';
  hasNetworkCard: boolean;
}

export function exportNote(f: ExportNoteFacts): string[] {
  const dir = shellWord(f.dir.replace(/\/+$/, ''));
  const xml = shellWord(f.xmlFile);
  const name = shellWord(f.name);
  const swtpm = `/var/lib/libvirt/swtpm/${f.uuid}`;
  const lines = ['On this computer:'];
  if (f.tpmState) {
    lines.push(
      `  sudo mkdir -p ${swtpm} && sudo cp -a ${shellWord(`${f.tpmState}/tpm2`)} ${swtpm}/ && sudo chown -R tss:tss ${swtpm}`,
    );
  }
  lines.push(`  virsh -c qemu:///system define ${xml} && virsh -c qemu:///system start ${name}`);
  lines.push(
    'On another libvirt host (HOST): the XML names the files by their paths, so copy the folder to the same path there',
    '(rsync -S keeps the qcow2 disks thin; scp copies them whole), then define it from here:',
    `  ssh HOST mkdir -p ${dir} && rsync -aS --progress ${dir}/ HOST:${dir}/`,
  );
  if (f.tpmState) {
    lines.push(
      `  ssh HOST "sudo mkdir -p ${swtpm} && sudo cp -a ${shellWord(`${f.tpmState}/tpm2`)} ${swtpm}/ && sudo chown -R tss:tss ${swtpm}"`,
    );
  }
  lines.push(
    `  virsh -c qemu+ssh://HOST/system define ${xml} && virsh -c qemu+ssh://HOST/system start ${name}`,
  );
  if (f.hasNetworkCard && f.nat === 'network') {
    lines.push(
      "NAT cards join libvirt's default network: start it once if it is not running (virsh net-start default; virsh net-autostart default).",
    );
  }
  lines.push(`Then: virsh console ${name} (the guest's serial console), or virt-manager.`);
  return lines;
}

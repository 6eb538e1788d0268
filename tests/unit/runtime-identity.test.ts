/**
 * The pure rules that keep other local users out of a VM's runtime files: which folder may be
 * used (ours alone, a real folder, mode 0700), and which process is the QEMU we started (ours, a
 * QEMU binary, named qemu-<id>), never a process whose argv merely mentions the VM.
 */
import { describe, expect, it } from 'vitest';
import { privateDirProblem, type DirFacts } from '../../electron/engine/host/runtime-dir';
import { isQemuOf } from '../../electron/engine/qemu/pid-file';

const US = 1000;
const DIR = '/tmp/vivarium-1000';
const good: DirFacts = { isDirectory: true, isSymbolicLink: false, uid: US, mode: 0o40700 };

describe('privateDirProblem', () => {
  it('accepts our own real folder with mode 0700', () => {
    expect(privateDirProblem(DIR, good, US)).toBeNull();
  });

  it('refuses another owner, saying whose it is and what to do', () => {
    const p = privateDirProblem(DIR, { ...good, uid: 1001 }, US);
    expect(p).toBe(
      `${DIR} is owned by uid 1001, not you: remove it (sudo rm -rf ${DIR}) or set ` +
        'XDG_RUNTIME_DIR to a folder of your own',
    );
  });

  it('refuses group or other bits, a symlink and a file', () => {
    for (const mode of [0o40777, 0o40755, 0o40770, 0o40701, 0o40500]) {
      expect(privateDirProblem(DIR, { ...good, mode }, US)).toMatch(/has mode \d{3}/);
    }
    expect(privateDirProblem(DIR, { ...good, isSymbolicLink: true }, US)).toMatch(/symbolic link/);
    expect(privateDirProblem(DIR, { ...good, isDirectory: false }, US)).toMatch(/not a folder/);
  });
});

describe('isQemuOf', () => {
  const id = '61afd221e17b';
  const qemu = { uid: US, exe: '/usr/bin/qemu-system-x86_64', comm: 'qemu-61afd221e1\n' };

  it('knows our QEMU by owner, binary and its (15-byte) process name', () => {
    expect(isQemuOf(qemu, id, US)).toBe(true);
    expect(isQemuOf({ ...qemu, exe: '/usr/bin/qemu-system-x86_64 (deleted)' }, id, US)).toBe(true);
    expect(isQemuOf({ ...qemu, comm: 'qemu-ab\n' }, 'ab', US)).toBe(true);
  });

  it('refuses another user’s process, another binary, another name', () => {
    expect(isQemuOf(qemu, id, 1001)).toBe(false);
    // A process whose argv merely says process=qemu-<id>: its binary and name give it away.
    expect(isQemuOf({ ...qemu, exe: '/usr/bin/node', comm: 'node\n' }, id, US)).toBe(false);
    expect(isQemuOf({ ...qemu, exe: '/usr/bin/node' }, id, US)).toBe(false);
    expect(isQemuOf({ ...qemu, exe: '/tmp/qemu-system-x86_64/evil' }, id, US)).toBe(false);
    expect(isQemuOf({ ...qemu, comm: 'qemu-system-x86\n' }, id, US)).toBe(false);
    expect(isQemuOf({ ...qemu, comm: 'qemu-61afd221e2\n' }, id, US)).toBe(false);
  });
});

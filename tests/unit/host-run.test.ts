/** runProgram: argv without a shell, output capture, and a deadline that kills the whole group. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastLine, runProgram } from '../../electron/engine/host/run';

/** Alive and not a zombie (a container's pid 1 may never reap orphans). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

describe.skipIf(process.platform === 'win32')('runProgram', () => {
  it('passes arguments verbatim (no shell) and captures output and exit code', async () => {
    const r = await runProgram(
      process.execPath,
      [
        '-e',
        'console.log(process.argv[1]); console.error("e"); process.exit(3)',
        '$(rm -rf /); x y',
      ],
      { timeoutMs: 10_000 },
    );
    expect(r.stdout.trim()).toBe('$(rm -rf /); x y');
    expect(r.stderr.trim()).toBe('e');
    expect(r.code).toBe(3);
    expect(r.timedOut).toBe(false);
  });

  it('reports a program that cannot start', async () => {
    const r = await runProgram('/nonexistent/qemu', [], { timeoutMs: 1000 });
    expect(r.spawnError?.code).toBe('ENOENT');
  });

  it('kills the whole process group at the deadline', async () => {
    const d = mkdtempSync(join(tmpdir(), 'viv-run-'));
    try {
      const script = join(d, 'hang.sh');
      const pidFile = join(d, 'child.pid');
      writeFileSync(script, `#!/bin/sh\nsleep 60 &\necho $! > ${pidFile}\nwait\n`);
      chmodSync(script, 0o755);
      const r = await runProgram(script, [], { timeoutMs: 500 });
      expect(r.timedOut).toBe(true);
      expect(r.signal).toBe('SIGKILL');
      const child = Number(readFileSync(pidFile, 'utf8'));
      await new Promise((res) => setTimeout(res, 100));
      expect(alive(child)).toBe(false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('lastLine picks the last non-empty line', () => {
    expect(lastLine('a\n\n b \n\n')).toBe('b');
    expect(lastLine('')).toBe('');
  });
});

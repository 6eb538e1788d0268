import { connect, type Socket } from 'node:net';
import type { Engine } from '../../electron/engine';
import type { StorageTaskResults, TaskInfo } from '../../common/contract';

/**
 * The fixture guest's shell on its serial console (one client at a time): send a command, wait
 * for a pattern in what it prints afterwards. Survives snapshot reverts (the chardev is QEMU's,
 * not the guest's).
 */
export class GuestConsole {
  private text = '';
  private waiters = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      for (const w of [...this.waiters]) w();
    });
    socket.on('error', () => undefined);
  }

  static async open(engine: Engine, vm: string): Promise<GuestConsole> {
    const path = await engine.consoleSocket(vm, 'serial');
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path, () => resolve(s));
      s.once('error', reject);
    });
    return new GuestConsole(socket);
  }

  /** Sends `command` and resolves with the first match of `pattern` printed after it. */
  async run(command: string, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const from = this.text.length;
    this.socket.write(`${command}\n`);
    return this.waitFor(pattern, from, timeoutMs);
  }

  waitFor(pattern: RegExp, from = 0, timeoutMs = 60_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = pattern.exec(this.text.slice(from));
        if (!m) return false;
        cleanup();
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`Timed out waiting for ${pattern}; console tail:\n${this.text.slice(-1500)}`),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(onData);
      };
      const onData = (): void => void check();
      this.waiters.add(onData);
      check();
    });
  }

  /** `mem-read` -> the text in the guest's RAM marker. */
  async memRead(): Promise<string> {
    return (await this.run('mem-read', /MEMMARKER:(\S*)\r?\n/))[1] ?? '';
  }

  async memWrite(text: string): Promise<void> {
    await this.run(`mem-write ${text}`, new RegExp(`MEMMARKER-WRITTEN:${text}`));
  }

  /** `mark-read` -> the text in the first sector of the first disk. */
  async diskRead(): Promise<string> {
    return (await this.run('mark-read', /\bMARKER:(\S*)\r?\n/))[1] ?? '';
  }

  async diskWrite(text: string): Promise<void> {
    await this.run(`mark-write ${text}`, new RegExp(`MARKER-WRITTEN:${text}`));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Waits for a task the engine started and returns its typed result. */
export async function finish<K extends keyof StorageTaskResults>(
  engine: Engine,
  task: TaskInfo,
  _kind: K,
): Promise<StorageTaskResults[K]> {
  return (await engine.tasks.wait(task.id)) as StorageTaskResults[K];
}

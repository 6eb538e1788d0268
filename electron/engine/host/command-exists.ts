import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** Whether an executable of that name is on PATH (what spawn would find). */
export async function commandExists(name: string): Promise<boolean> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      try {
        await access(join(dir, name + ext), constants.X_OK);
        return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}

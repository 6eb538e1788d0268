import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { VivariumError } from '../errors';

/** Checks a file the user pointed at before QEMU does, so the error says which file and why. */
export async function checkReadableFile(path: string, what: string, next?: string): Promise<void> {
  const then = next ? `: ${next}` : ': check the path';
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new VivariumError('FILE_NOT_FOUND', `The ${what} ${path} does not exist${then}.`);
  }
  if (info.isDirectory()) {
    throw new VivariumError(
      'FILE_UNREADABLE',
      `The ${what} ${path} is a folder, not a file${then}.`,
    );
  }
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new VivariumError(
      'FILE_UNREADABLE',
      `Vivarium may not read the ${what} ${path}: fix its permissions (e.g. chmod a+r) or copy it somewhere readable.`,
    );
  }
}

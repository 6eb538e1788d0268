/** What a new ready-to-use guest gets from this host unless the user says otherwise. */
import { userInfo } from 'node:os';
import type { GuestDefaults } from '../../../common/contract';
import { userNameProblem } from '../../../common/rules/cloud-guest';
import { readHostDefaults } from '../cloud-init/host-defaults';
import { listUserPublicKeys } from '../ssh/keys';
import { commandExists } from '../host/command-exists';

/** The host user's login when the guest may have it too (not root), else 'user'. */
function guestLogin(): string {
  let name = '';
  try {
    name = userInfo().username.toLowerCase();
  } catch {
    // no passwd entry (a container): fall through
  }
  return name && userNameProblem(name) === null ? name : 'user';
}

/** Read on every call: the keys in ~/.ssh change, and HOME may be another one by then. */
export async function guestDefaults(): Promise<GuestDefaults> {
  const [host, keys, sshClient] = await Promise.all([
    readHostDefaults(),
    listUserPublicKeys(),
    commandExists('ssh'),
  ]);
  return {
    user: guestLogin(),
    sshKeys: keys.map((k) => ({ file: k.file, type: k.type, comment: k.comment, line: k.line })),
    timezone: host.timezone,
    locale: host.locale,
    keyboard: host.keyboard,
    sshClient,
  };
}

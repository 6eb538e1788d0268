/** What a new ready-to-use guest gets from this host unless the user says otherwise. */
import type { GuestDefaults } from '../../../common/contract';

// PLACEHOLDER until the cloud-init helper's host-defaults and ssh keys merge.
export function guestDefaults(): Promise<GuestDefaults> {
  return Promise.resolve({
    user: 'user',
    sshKeys: [],
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    locale: 'en_US.UTF-8',
    keyboard: { layout: 'us' },
    sshClient: true,
  });
}

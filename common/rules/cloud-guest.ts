/**
 * What a ready-to-use guest made from a cloud image may be given on its first boot (the NoCloud
 * seed): the login's name, the hostname, SSH keys. The wizard, the CLI and the engine check the
 * same rules; cloud-init itself would accept some of what these refuse and then fail in the guest,
 * where nobody sees it.
 */

/** Login names the guest's own tools accept (useradd's default rule), and not a system account. */
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const RESERVED_USERS = new Set([
  'root',
  'daemon',
  'bin',
  'sys',
  'sync',
  'games',
  'man',
  'lp',
  'mail',
  'news',
  'uucp',
  'proxy',
  'www-data',
  'backup',
  'list',
  'irc',
  'nobody',
  'nogroup',
  'sshd',
  'messagebus',
  'operator',
  'toor',
  'admin',
]);

export function userNameProblem(name: string): string | null {
  if (!USER_NAME.test(name)) {
    return 'Use a login name of lowercase letters, digits, _ or -, starting with a letter (at most 32)';
  }
  if (RESERVED_USERS.has(name) || name.startsWith('systemd-')) {
    return `"${name}" is a system account: choose another login name`;
  }
  return null;
}

/** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
export function hostnameProblem(name: string): string | null {
  if (name.length > 253) return 'A host name has at most 253 characters';
  const labels = name.split('.');
  const label = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  if (labels.some((l) => !label.test(l))) {
    return 'Use letters, digits and hyphens for the host name (no spaces; a hyphen neither first nor last)';
  }
  return null;
}

/** A host name from a VM name: "My Debian 13!" -> "my-debian-13". */
export function hostnameFromName(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return base || 'vm';
}

const KEY_TYPES =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com|ssh-dss)$/;

/** Why a line is not an OpenSSH public key, or null. */
export function publicKeyProblem(line: string): string | null {
  const text = line.trim();
  if (/PRIVATE KEY-----/.test(text)) {
    return 'That is a private key: give the public one (the .pub file), and keep the private key to yourself';
  }
  const [type, body] = text.split(/\s+/);
  if (!type || !body || !KEY_TYPES.test(type) || !/^[A-Za-z0-9+/]+={0,3}$/.test(body)) {
    return 'Not an OpenSSH public key: it looks like "ssh-ed25519 AAAA... you@host" (a line of a .pub file)';
  }
  return null;
}

/** The guest port an SSH forward goes to, and where Vivarium starts looking for a free host port. */
export const SSH_GUEST_PORT = 22;
export const SSH_HOST_PORT_FIRST = 2222;

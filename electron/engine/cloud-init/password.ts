/**
 * SHA-512 crypt (`$6$salt$hash`), the form cloud-init's `passwd` and /etc/shadow take. The
 * algorithm is unixcrypt's (Ulrich Drepper's published specification, on node:crypto).
 */
import { randomBytes } from 'node:crypto';
import { encrypt } from 'unixcrypt';

const SALT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** The specification reads at most 16 salt characters; more are ignored. */
const SALT_LENGTH = 16;
const SALT_RE = /^[./0-9A-Za-z]{1,16}$/;

/** 16 characters from crypt's alphabet (64 symbols: a byte's low 6 bits are uniform). */
export function randomSalt(): string {
  return [...randomBytes(SALT_LENGTH)].map((b) => SALT_ALPHABET[b & 63]).join('');
}

/** `$6$<salt>$<86 characters>` with the default 5000 rounds. */
export function hashPassword(plain: string, salt: string = randomSalt()): string {
  if (!SALT_RE.test(salt)) {
    throw new Error("A crypt salt is 1-16 characters of letters, digits, '.' and '/'");
  }
  return encrypt(plain, `$6$${salt}`);
}

/** Whether `hash` looks like a crypt(3) SHA-512 hash (what a user may paste instead of a password). */
export function isSha512CryptHash(hash: string): boolean {
  return /^\$6\$(rounds=\d+\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$/.test(hash);
}

/**
 * The contents of a NoCloud seed: `#cloud-config` user data and meta-data for one VM, from a
 * checked spec. Pure.
 *
 * What the seed must survive: a guest without internet (package installs fail; the guest agent
 * may already be in the image), images without bash or sudo (Alpine, FreeBSD), and Debian
 * bookworm's cloud-init 22.4 (no keyboard module: that key is ignored there, not an error).
 */
import { stringify } from 'yaml';
import { hostnameProblem, userNameProblem } from '../../../common/rules/cloud-guest';
import { z } from 'zod';
import { parsePublicKey } from '../ssh/keys';
import type { SeedFile } from './seed-iso';

/** The same rules the contract checks requests with (common/rules/cloud-guest.ts). */
export const UserNameSchema = z.string().superRefine((u, ctx) => {
  const problem = userNameProblem(u);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const HostnameSchema = z.string().superRefine((h, ctx) => {
  const problem = hostnameProblem(h);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** IANA tz database names: `UTC`, `Area/Location`, `America/Argentina/Buenos_Aires`, `Etc/GMT+5`. */
export const TimezoneSchema = z
  .string()
  .max(64)
  .regex(
    /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9][A-Za-z0-9_+-]*){0,2}$/,
    'A timezone is an IANA name such as Europe/Paris or UTC',
  );

/** `ll_CC.CHARSET[@modifier]`, `C.UTF-8`. */
export const LocaleSchema = z
  .string()
  .regex(
    /^(?:[a-z]{2,3}(?:_[A-Z]{2})?|C)(?:\.[A-Za-z0-9-]+)?(?:@[A-Za-z0-9]+)?$/,
    'A locale looks like en_US.UTF-8',
  );

export const KeyboardSchema = z.object({
  layout: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'An XKB layout looks like us or de'),
  variant: z
    .string()
    .regex(/^[a-z0-9_-]{1,32}$/, 'An XKB variant looks like nodeadkeys')
    .optional(),
});

export const SshPublicKeySchema = z.string().transform((line, ctx) => {
  const parsed = parsePublicKey(line);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.reason });
    return z.NEVER;
  }
  return parsed.key.line;
});

/** crypt(3) strings ($6$, $5$, $y$, $2b$...): never a plain password. */
export const PasswordHashSchema = z
  .string()
  .regex(/^\$[0-9a-z]{1,2}\$[./0-9A-Za-z$=,]+$/, 'The password must be given hashed (crypt form)');

export const InstanceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,128}$/, 'An instance id is 1-128 letters, digits, ., _ or -');

export const CloudInitSpecSchema = z
  .object({
    user: UserNameSchema,
    sshAuthorizedKeys: z.array(SshPublicKeySchema),
    passwordHash: PasswordHashSchema.optional(),
    hostname: HostnameSchema,
    timezone: TimezoneSchema.optional(),
    locale: LocaleSchema.optional(),
    keyboard: KeyboardSchema.optional(),
    instanceId: InstanceIdSchema,
    installGuestAgent: z.boolean(),
    growRoot: z.boolean(),
  })
  .refine((s) => s.sshAuthorizedKeys.length > 0 || s.passwordHash !== undefined, {
    message: 'Give an SSH public key or a password, or nobody can log in',
    path: ['sshAuthorizedKeys'],
  });

export type CloudInitSpec = z.input<typeof CloudInitSpecSchema>;

/**
 * Starts the agent under whichever init the guest has; does nothing when it is not installed.
 * One line: cloud-init's runcmd joins entries into one sh script, so no `exit`.
 */
export const START_GUEST_AGENT =
  'if command -v systemctl >/dev/null 2>&1; then ' +
  'systemctl enable qemu-guest-agent >/dev/null 2>&1; systemctl start qemu-guest-agent; ' +
  'elif command -v rc-update >/dev/null 2>&1; then ' +
  'rc-update add qemu-guest-agent default; rc-service qemu-guest-agent start; ' +
  'elif command -v sysrc >/dev/null 2>&1; then ' +
  'kldload -n virtio_console; sysrc qemu_guest_agent_enable=YES; service qemu-guest-agent start; ' +
  'fi || true';

/**
 * bash as the login shell where the image has it; images without it (Alpine, FreeBSD) keep
 * their default, which a `shell:` key would have replaced with a missing program.
 */
function bashWhenPresent(user: string): string {
  return (
    `if [ -x /bin/bash ]; then b=/bin/bash; else b=$(command -v bash); fi; ` +
    `if [ -n "$b" ]; then usermod -s "$b" ${user} 2>/dev/null || ` +
    `chsh -s "$b" ${user} 2>/dev/null || pw usermod ${user} -s "$b"; fi || true`
  );
}

// cloud-init reads YAML 1.1 (PyYAML), where a bare off, no or yes is a boolean: quote them.
const YAML_OPTIONS = { version: '1.1', lineWidth: 0, minContentWidth: 0 } as const;

/** `#cloud-config` user data. Throws a ZodError naming the bad field. */
export function renderUserData(input: CloudInitSpec): string {
  const spec = CloudInitSpecSchema.parse(input);
  const hasPassword = spec.passwordHash !== undefined;
  const user: Record<string, unknown> = {
    name: spec.user,
    sudo: 'ALL=(ALL) NOPASSWD:ALL',
    lock_passwd: !hasPassword,
  };
  if (hasPassword) user.passwd = spec.passwordHash;
  if (spec.sshAuthorizedKeys.length > 0) user.ssh_authorized_keys = spec.sshAuthorizedKeys;

  const doc: Record<string, unknown> = {
    hostname: spec.hostname,
    manage_etc_hosts: true,
    users: [user],
    ssh_pwauth: hasPassword,
    disable_root: true,
  };
  if (spec.timezone) doc.timezone = spec.timezone;
  if (spec.locale) {
    doc.locale = spec.locale;
    // Debian's locale-gen builds only what /etc/locale.gen lists (its argument is ignored), so
    // without the line the locale step fails; elsewhere the file is unused. write_files runs first.
    const generated = localeGenLine(spec.locale);
    if (generated) {
      doc.write_files = [{ path: '/etc/locale.gen', content: `${generated}\n`, append: true }];
    }
  }
  if (spec.keyboard) doc.keyboard = { ...spec.keyboard };
  if (spec.growRoot) {
    doc.growpart = { mode: 'auto', devices: ['/'] };
    doc.resize_rootfs = true;
  } else {
    doc.growpart = { mode: 'off' };
    doc.resize_rootfs = false;
  }
  // Updates need the internet; a listed package makes cloud-init refresh the index anyway,
  // which fails offline without stopping the rest of the seed.
  doc.package_update = false;
  doc.package_upgrade = false;
  const runcmd = [bashWhenPresent(spec.user)];
  if (spec.installGuestAgent) {
    doc.packages = ['qemu-guest-agent'];
    runcmd.push(START_GUEST_AGENT);
  }
  doc.runcmd = runcmd;
  return `#cloud-config\n${stringify(doc, YAML_OPTIONS)}`;
}

/** The /etc/locale.gen line for a locale ("en_GB.UTF-8 UTF-8"); null for C and POSIX. */
export function localeGenLine(locale: string): string | null {
  if (/^(C|POSIX)(\.|$)/.test(locale)) return null;
  const charset = locale.split('.')[1]?.split('@')[0];
  return `${locale} ${charset ?? 'ISO-8859-1'}`;
}

export interface MetaDataInput {
  instanceId: string;
  hostname: string;
}

/** NoCloud meta-data: a new instance id makes cloud-init run its once-per-instance steps again. */
export function renderMetaData(input: MetaDataInput): string {
  const instanceId = InstanceIdSchema.parse(input.instanceId);
  const hostname = HostnameSchema.parse(input.hostname);
  return stringify({ 'instance-id': instanceId, 'local-hostname': hostname }, YAML_OPTIONS);
}

/** The files of the seed volume, for `buildSeedIso`. */
export function buildSeedFiles(spec: CloudInitSpec): SeedFile[] {
  return [
    { name: 'user-data', data: renderUserData(spec) },
    { name: 'meta-data', data: renderMetaData(spec) },
  ];
}

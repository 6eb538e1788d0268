import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The real Debian bookworm cloud image built by tests/fixtures/build-debian-image.sh (npm run
 * fixtures builds it). It lives outside the clone so every clone and CI run on the machine reuses it.
 */
export const DEBIAN_IMAGE_CACHE_ENV = 'VIVARIUM_DEBIAN_IMAGE_CACHE';
export const DEFAULT_DEBIAN_IMAGE_CACHE = '/var/cache/vivarium-tests/debian-bookworm';
export const DEBIAN_IMAGE_FILE = 'debian-bookworm.qcow2';

const factsSchema = z.object({
  suite: z.string(),
  image: z.string(),
  format: z.literal('qcow2'),
  virtualSizeBytes: z.number().int().positive(),
  fileSizeBytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  rootUuid: z.string(),
  kernel: z.string(),
  kernelCmdline: z.string(),
  packages: z.object({
    'cloud-init': z.string(),
    'openssh-server': z.string(),
    'qemu-guest-agent': z.string(),
    systemd: z.string(),
    'linux-image-cloud-amd64': z.string(),
  }),
  builtAt: z.string(),
  buildSeconds: z.number().int().nonnegative(),
});

/** What the build recorded about the image (facts.json beside it). */
export type DebianImageFacts = z.infer<typeof factsSchema>;

export interface DebianImage {
  /** The qcow2 image; use it read-only as the backing file of an overlay. */
  path: string;
  facts: DebianImageFacts;
}

/** The folder holding the image: $VIVARIUM_DEBIAN_IMAGE_CACHE, else the machine-wide default. */
export function debianImageDir(env: NodeJS.ProcessEnv = process.env): string {
  return env[DEBIAN_IMAGE_CACHE_ENV] || DEFAULT_DEBIAN_IMAGE_CACHE;
}

export function debianImagePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(debianImageDir(env), DEBIAN_IMAGE_FILE);
}

const BUILD_HINT =
  'run "npm run fixtures" (or, as root, bash tests/fixtures/build-debian-image.sh)';

/** Why tests that boot the Debian image cannot run here, or null when it is built. */
export function debianImageMissingReason(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = debianImageDir(env);
  for (const file of [DEBIAN_IMAGE_FILE, 'facts.json']) {
    if (!existsSync(join(dir, file))) return `${join(dir, file)} is missing: ${BUILD_HINT}`;
  }
  return null;
}

/** The built image and its facts; throws, saying how to build it, when it is absent or unreadable. */
export function requireDebianImage(env: NodeJS.ProcessEnv = process.env): DebianImage {
  const why = debianImageMissingReason(env);
  if (why) throw new Error(why);
  const factsFile = join(debianImageDir(env), 'facts.json');
  const parsed = factsSchema.safeParse(JSON.parse(readFileSync(factsFile, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `${factsFile} is not what the build writes (${parsed.error.message}): ${BUILD_HINT}`,
    );
  }
  return { path: debianImagePath(env), facts: parsed.data };
}

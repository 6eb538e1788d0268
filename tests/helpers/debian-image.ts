// PLACEHOLDER written by the UI helper only so that tests/e2e/cloud-wizard.e2e.test.ts type-checks:
// the fixture helper's branch brings the real module (which builds the image with debootstrap and
// caches it outside the clone). Take theirs; drop this file.
import { join } from 'node:path';

/** The bootable Debian test image (cloud-init, openssh-server, qemu-guest-agent). */
export function debianImagePath(): string {
  return join(import.meta.dirname, '..', 'fixtures', '.cache', 'debian-test.qcow2');
}

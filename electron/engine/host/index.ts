/** Host facts: QEMU binaries and versions, accelerators (probed), firmware. */
export { probeHost, freeDiskBytes, nodePlatform, qemuArchName } from './probe';
export type { ProbeHostOptions } from './probe';
export { findQemu, qemuSearchDirs, QEMU_ARCHES } from './find-qemu';
export type { FindQemuOptions, FoundQemu, QemuArch } from './find-qemu';
export { resolveAccelerator, fallbackNotice } from './resolve';
export { findFirmware } from './firmware';
export type { FirmwarePaths } from './firmware';
export { parseQemuVersion, MIN_QEMU_VERSION } from './version';
export type { QemuVersion } from './version';
export { installHint, parseOsRelease } from './install-hint';
export { ACCEL_PROBE_TIMEOUT_MS, runAccelProbe } from './accel';
export { requireQemuBinary, requireQemuImg } from './require';

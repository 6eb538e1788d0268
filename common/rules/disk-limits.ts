/**
 * How many disks a VM has room for, apart from the rest of the disk rules: the config schema
 * (common/contract/vm-config.ts) uses these, and the rules (disks.ts) use the schema's types.
 */

/** A VM has at most this many disks. */
export const MAX_DISKS = 8;

/**
 * Spare PCIe root ports a q35 VM gets at start (one per disk it may have), where disks are
 * plugged in while it runs; also the SCSI targets handed out.
 */
export const HOTPLUG_PORTS = MAX_DISKS;

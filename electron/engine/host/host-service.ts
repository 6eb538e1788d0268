import type { HostInfo } from '../../../common/contract';
import type { EnginePaths } from '../paths';
import { probeHost } from './probe';

/** The host's QEMU, firmware and accelerators, probed once and shared by every service. */
export class HostService {
  private info: Promise<HostInfo> | null = null;

  constructor(
    private readonly paths: EnginePaths,
    private readonly qemuDir?: string,
  ) {}

  get(refresh = false): Promise<HostInfo> {
    if (!this.info || refresh) {
      const probe = probeHost({
        cacheDir: this.paths.cacheDir,
        dataDir: this.paths.home,
        refresh,
        ...(this.qemuDir ? { qemuDir: this.qemuDir } : {}),
      });
      this.info = probe;
      // A failed probe is not remembered: the next call tries again.
      probe.catch(() => {
        if (this.info === probe) this.info = null;
      });
    }
    return this.info;
  }
}

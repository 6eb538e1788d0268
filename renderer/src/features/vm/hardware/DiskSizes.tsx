import { useEffect } from 'react';
import type { VmSummary } from '../../../../../common/contract';
import { formatBytes } from '../../../../../common/format';
import { DISK_BUS_LABELS, DISK_CACHE_LABELS } from '../../../../../common/labels';
import { loadDisks } from '../../../actions/disks';
import { useDisksStore } from '../../../stores/disks';
import './disks.css';

/**
 * Each disk's virtual size (what the guest sees) and the space it uses on this computer, read
 * from the host's files (disk.list), for Overview and Settings; the actions live in Hardware.
 */
export function DiskSizes({ vm, active }: { vm: VmSummary; active: boolean }) {
  const entry = useDisksStore((s) => s.byVm[vm.id]);
  const disksKey = JSON.stringify(vm.config.disks);
  const state = vm.runtime.state;
  useEffect(() => {
    if (active) void loadDisks(vm.id);
  }, [active, vm.id, disksKey, state]);
  if (vm.config.disks.length === 0) return <p className="muted">No disks.</p>;
  const infos = new Map((entry?.storage?.disks ?? []).map((d) => [d.id, d]));
  return (
    <ul className="disk-sizes" data-testid="disk-sizes">
      {vm.config.disks.map((d) => {
        const info = infos.get(d.id);
        const virtual = info?.virtualSize ?? null;
        const used = info?.actualSize ?? null;
        const pct = virtual && used !== null ? Math.min(100, (used / virtual) * 100) : 0;
        const name = (info?.file ?? d.file).split(/[\\/]/).pop();
        return (
          <li key={d.id} data-testid={`disk-size-${d.id}`}>
            <div className="disk-sizes__line">
              <strong title={info?.file ?? d.file}>{name}</strong>
              <span className="muted">
                {d.id} · {DISK_BUS_LABELS[d.bus]} · {DISK_CACHE_LABELS[d.cache]}
                {d.readOnly ? ' · read-only' : ''}
              </span>
            </div>
            <div className="disk-meter" aria-hidden="true">
              <span style={{ width: `${pct}%` }} />
            </div>
            <span className="disk-sizes__numbers">
              {info ? (
                <>
                  <span data-testid={`disk-size-${d.id}-virtual`}>
                    {virtual === null ? '?' : formatBytes(virtual)}
                  </span>{' '}
                  for the guest · {used === null ? '?' : formatBytes(used)} used on this computer
                  {info.exists ? '' : ' · file missing'}
                </>
              ) : entry?.error ? (
                <span className="muted">Sizes unavailable: {entry.error}</span>
              ) : (
                <span className="muted">Reading sizes…</span>
              )}
            </span>
          </li>
        );
      })}
    </ul>
  );
}

import { useMemo, useState } from 'react';
import type { VmStatsSample } from '../../../../common/contract';
import { formatBytes } from '../../../../common/format';
import { useStatsStore } from '../../stores/stats';
import { Card } from './parts';

interface Column {
  id: string;
  label: string;
  title: string;
  /** The figure the column sorts by; null sorts last. */
  value: (s: VmStatsSample) => number | string | null;
  show: (s: VmStatsSample) => string;
  numeric?: boolean;
}

const bytes = (v: number | null) => (v === null ? '–' : formatBytes(v));
const rate = (v: number | null) => (v === null ? '–' : `${formatBytes(v)}/s`);
const pct = (v: number | null) => (v === null ? '–' : `${v.toFixed(1)}%`);
const guestAvail = (s: VmStatsSample) => ('available' in s.guest ? null : s.guest.availableBytes);
const balloon = (s: VmStatsSample) => ('actualBytes' in s.balloon ? s.balloon.actualBytes : null);
const netRx = (s: VmStatsSample) => ('rxBytesPerSec' in s.net ? s.net.rxBytesPerSec : null);

const COLUMNS: Column[] = [
  { id: 'name', label: 'VM', title: 'The VM', value: (s) => s.name, show: (s) => s.name },
  {
    id: 'pid',
    label: 'PID',
    title: 'QEMU’s process id',
    value: (s) => s.pid,
    show: (s) => String(s.pid),
    numeric: true,
  },
  {
    id: 'cpu',
    label: 'CPU',
    title: 'The QEMU process; 100% is one core',
    value: (s) => s.cpuPercent,
    show: (s) => pct(s.cpuPercent),
    numeric: true,
  },
  {
    id: 'vcpu',
    label: 'vCPUs',
    title: 'Each vCPU thread',
    value: (s) => s.vcpuPercent.reduce((a, b) => a + b, 0),
    show: (s) => (s.vcpuPercent.length ? s.vcpuPercent.map((v) => Math.round(v)).join(' / ') : '–'),
    numeric: true,
  },
  {
    id: 'threads',
    label: 'Threads',
    title: 'Threads of the QEMU process',
    value: (s) => s.threads,
    show: (s) => String(s.threads ?? '–'),
    numeric: true,
  },
  {
    id: 'rss',
    label: 'RSS',
    title: 'Host memory the process holds',
    value: (s) => s.rssBytes,
    show: (s) => bytes(s.rssBytes),
    numeric: true,
  },
  {
    id: 'pss',
    label: 'PSS',
    title: 'Its proportional share of shared pages',
    value: (s) => s.pssBytes,
    show: (s) => bytes(s.pssBytes),
    numeric: true,
  },
  {
    id: 'balloon',
    label: 'Balloon',
    title: 'The memory the balloon leaves the guest',
    value: balloon,
    show: (s) => bytes(balloon(s)),
    numeric: true,
  },
  {
    id: 'avail',
    label: 'Guest avail.',
    title: 'What the guest reports available',
    value: guestAvail,
    show: (s) => bytes(guestAvail(s)),
    numeric: true,
  },
  {
    id: 'read',
    label: 'Disk read',
    title: 'Bytes read per second',
    value: (s) => s.disk.readBytesPerSec,
    show: (s) => rate(s.disk.readBytesPerSec),
    numeric: true,
  },
  {
    id: 'write',
    label: 'Disk write',
    title: 'Bytes written per second',
    value: (s) => s.disk.writeBytesPerSec,
    show: (s) => rate(s.disk.writeBytesPerSec),
    numeric: true,
  },
  {
    id: 'net',
    label: 'Net in',
    title: 'Bytes received per second (bridged cards)',
    value: netRx,
    show: (s) => rate(netRx(s)),
    numeric: true,
  },
];

/**
 * Every running VM as `top` would list its QEMU process, with what only QEMU knows beside it
 * (vCPUs, balloon, guest memory, disk): sortable by any column, updated every sample.
 */
export function VmTopTable() {
  const latest = useStatsStore((s) => s.latest);
  const [sort, setSort] = useState<{ id: string; desc: boolean }>({ id: 'cpu', desc: true });
  const rows = useMemo(() => {
    const col = COLUMNS.find((c) => c.id === sort.id) ?? COLUMNS[2];
    const list = Object.values(latest);
    if (!col) return list;
    return list.sort((a, b) => {
      const x = col.value(a);
      const y = col.value(b);
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      const c =
        typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y)) : x - y;
      return sort.desc ? -c : c;
    });
  }, [latest, sort]);

  return (
    <Card
      title="Running VMs"
      icon="cpu"
      className="host__top"
      testId="host-top"
      aside={`${rows.length} running`}
    >
      {rows.length === 0 ? (
        <p className="muted">
          No VM runs now. Each one that does appears here as its QEMU process.
        </p>
      ) : (
        <div className="top-table__scroll">
          <table className="top-table" data-testid="top-table">
            <thead>
              <tr>
                {COLUMNS.map((c) => {
                  const on = c.id === sort.id;
                  return (
                    <th
                      key={c.id}
                      scope="col"
                      className={c.numeric ? 'num' : undefined}
                      aria-sort={on ? (sort.desc ? 'descending' : 'ascending') : 'none'}
                      title={c.title}
                    >
                      <button
                        type="button"
                        data-testid={`sort-${c.id}`}
                        onClick={() =>
                          setSort((s) => ({
                            id: c.id,
                            desc: s.id === c.id ? !s.desc : c.id !== 'name',
                          }))
                        }
                      >
                        {c.label}
                        {on ? <span aria-hidden="true">{sort.desc ? ' ▾' : ' ▴'}</span> : null}
                      </button>
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.vmId} data-testid="top-row" data-vm-name={s.name}>
                  {COLUMNS.map((c) =>
                    c.id === 'name' ? (
                      <th key={c.id} scope="row">
                        <a href={`#/vm/${s.vmId}/overview`} className="top-table__vm">
                          {s.name}
                        </a>
                      </th>
                    ) : (
                      <td key={c.id} className={c.numeric ? 'num' : undefined} data-col={c.id}>
                        {c.show(s)}
                      </td>
                    ),
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

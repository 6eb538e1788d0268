import { startTransition, useEffect, useMemo, useRef, useState } from 'react';
import type { VmSummary } from '../../../../common/contract';
import { loadLibrary } from '../../actions/library';
import { openDialog, setSearch, setSort } from '../../actions/ui';
import { osLabel, plural } from '../../../../common/format';
import { useLibraryStore } from '../../stores/library';
import { SORTS, useUiStore, type LibrarySort } from '../../stores/ui';
import { Icon } from '../../components/Icon';
import { VmCard } from './VmCard';
import { isGuestUp } from '../../../../common/vm-state';
import { loadStatsHistory } from '../../actions/stats';
import { useStatsFeed } from '../../hooks/use-stats';

const SORT_LABELS: Record<LibrarySort, string> = {
  name: 'Name',
  state: 'State',
  created: 'Newest',
  memory: 'Memory',
};

/** Cards in the first render: more than any screen shows. */
const FIRST_BATCH = 24;

const STATE_RANK: Record<string, number> = {
  running: 0,
  paused: 1,
  saved: 2,
  crashed: 3,
  stopped: 4,
};

/** One collator: `localeCompare` with options builds a new one per call (slow for 100 VMs). */
const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });
const byName = (a: VmSummary, b: VmSummary) => collator.compare(a.name, b.name);

const COMPARE: Record<LibrarySort, (a: VmSummary, b: VmSummary) => number> = {
  name: byName,
  state: (a, b) =>
    (STATE_RANK[a.runtime.state] ?? 2) - (STATE_RANK[b.runtime.state] ?? 2) || byName(a, b),
  created: (a, b) => b.config.createdAt.localeCompare(a.config.createdAt) || byName(a, b),
  memory: (a, b) => b.config.memoryMiB - a.config.memoryMiB || byName(a, b),
};

function matches(vm: VmSummary, q: string): boolean {
  if (!q) return true;
  const hay = `${vm.name}\n${vm.config.os}\n${osLabel(vm.config.os)}\n${vm.runtime.state}`;
  return hay.toLowerCase().includes(q);
}

export function Library() {
  const vms = useLibraryStore((s) => s.vms);
  const status = useLibraryStore((s) => s.status);
  const error = useLibraryStore((s) => s.error);
  const search = useUiStore((s) => s.search);
  const sort = useUiStore((s) => s.sort);

  const shown = useMemo(() => {
    const q = search.trim().toLowerCase();
    return vms.filter((vm) => matches(vm, q)).sort(COMPARE[sort]);
  }, [vms, search, sort]);
  // A long library paints its first screenful at once and adds the rest right after, in a
  // transition that a click can interrupt.
  const [limit, setLimit] = useState(FIRST_BATCH);
  useEffect(() => {
    if (limit >= shown.length) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => startTransition(() => setLimit(Infinity)), 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [limit, shown.length]);
  const running = vms.filter((v) => v.runtime.state === 'running').length;
  const paused = vms.filter((v) => v.runtime.state === 'paused').length;
  const liveIds = vms
    .filter((v) => isGuestUp(v.runtime.state))
    .map((v) => v.id)
    .join();
  useStatsFeed(liveIds !== '');
  // Sparklines start with the last two minutes the engine kept, then move with the samples.
  useEffect(() => {
    for (const id of liveIds ? liveIds.split(',') : []) void loadStatsHistory(id, 120);
  }, [liveIds]);

  return (
    <main className="library">
      <div className="toolbar">
        <div className="toolbar__title">
          <h2>Library</h2>
          {status === 'ready' && vms.length > 0 ? (
            <span className="toolbar__count">
              {plural(vms.length, 'machine')}
              {running > 0 ? ` · ${running} running` : ''}
              {paused > 0 ? ` · ${paused} paused` : ''}
            </span>
          ) : null}
        </div>
        <div className="toolbar__actions">
          <SearchBox value={search} disabled={vms.length === 0} />
          <label className="select" title="Sort the library">
            <Icon name="sort" size={15} />
            <select
              aria-label="Sort machines"
              value={sort}
              onChange={(e) => setSort(e.target.value as LibrarySort)}
              disabled={vms.length === 0}
            >
              {SORTS.map((s) => (
                <option key={s} value={s}>
                  {SORT_LABELS[s]}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="btn btn--primary btn--tall"
            onClick={() => openDialog({ type: 'newVm' })}
            title="Create a virtual machine (N)"
          >
            <Icon name="plus" size={16} />
            New VM
          </button>
        </div>
      </div>

      {status === 'loading' ? (
        <div className="vm-grid" aria-busy="true" aria-label="Loading virtual machines">
          {[0, 1, 2].map((i) => (
            <div className="vm-card vm-card--skeleton" key={i} />
          ))}
        </div>
      ) : status === 'error' ? (
        <div className="empty">
          <div className="empty__art empty__art--error">
            <Icon name="alert" size={28} />
          </div>
          <h3>Couldn’t load the library</h3>
          <p>{error}</p>
          <button type="button" className="btn btn--primary" onClick={() => void loadLibrary()}>
            Try again
          </button>
        </div>
      ) : vms.length === 0 ? (
        <div className="empty" data-testid="library-empty">
          <div className="empty__art">
            <Icon name="monitor" size={30} />
          </div>
          <h3>No virtual machines yet</h3>
          <p>
            Create one from an installer ISO or a Linux kernel. Machines made elsewhere (for example
            with <code>vivarium create</code>) appear here as soon as they exist.
          </p>
          <button
            type="button"
            className="btn btn--primary btn--tall"
            onClick={() => openDialog({ type: 'newVm' })}
          >
            <Icon name="plus" size={16} />
            New VM
          </button>
        </div>
      ) : shown.length === 0 ? (
        <div className="empty">
          <div className="empty__art">
            <Icon name="search" size={28} />
          </div>
          <h3>No machines match “{search.trim()}”</h3>
          <p>Search looks at names, operating systems and states.</p>
          <button type="button" className="btn btn--secondary" onClick={() => setSearch('')}>
            Clear search
          </button>
        </div>
      ) : (
        <div className="vm-grid">
          {(shown.length > limit ? shown.slice(0, limit) : shown).map((vm) => (
            <VmCard vm={vm} key={vm.id} />
          ))}
        </div>
      )}
    </main>
  );
}

function SearchBox({ value, disabled }: { value: string; disabled: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  // "/" focuses the search, as in many web apps.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing =
        target?.tagName === 'INPUT' || target?.tagName === 'TEXTAREA' || target?.isContentEditable;
      if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        input.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <label className="search">
      <Icon name="search" size={16} />
      <input
        ref={input}
        type="search"
        placeholder="Search machines"
        aria-label="Search machines"
        value={value}
        disabled={disabled && value === ''}
        onChange={(e) => setSearch(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setSearch('');
        }}
      />
      <kbd aria-hidden="true">/</kbd>
    </label>
  );
}

import { useEffect, useMemo, useRef } from 'react';
import type { VmSummary } from '../../../preload/contract';
import { loadLibrary } from '../actions/library';
import { setSearch } from '../actions/ui';
import { osLabel, plural } from '../lib/format';
import { useLibraryStore } from '../stores/library';
import { useUiStore } from '../stores/ui';
import { Icon } from './Icon';
import { VmCard } from './VmCard';

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

  const shown = useMemo(() => {
    const q = search.trim().toLowerCase();
    return vms
      .filter((vm) => matches(vm, q))
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
  }, [vms, search]);
  const running = vms.filter((v) => v.runtime.state === 'running').length;
  const paused = vms.filter((v) => v.runtime.state === 'paused').length;

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
        <SearchBox value={search} disabled={vms.length === 0} />
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
            Machines you create appear here as soon as they exist. Create one from the command line
            with <code>vivarium create NAME --iso PATH</code>.
          </p>
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
          {shown.map((vm) => (
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

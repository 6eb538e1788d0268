import { Suspense, useEffect, useState } from 'react';
import type { VmSummary } from '../../../../common/contract';
import { navigate, openLibrary } from '../../actions/ui';
import { formatDuration, osLabel } from '../../../../common/format';
import { isTransitional } from '../../../../common/vm-state';
import { useNow } from '../../hooks/use-now';
import { useLibraryStore } from '../../stores/library';
import { BackButton } from '../../components/BackButton';
import { HostBanners } from '../../components/HostBanners';
import { Icon } from '../../components/Icon';
import { StateBadge } from '../../components/StateBadge';
import { allowedOps, OpButton } from '../../components/VmActions';
import { MigrateButton } from '../migrate/MigrateButton';
import { ExportButton } from '../interop/ExportButton';
import { OsAvatar } from '../wizard/OsLogo';
import { DiscardStateButton, SavedSince, SuspendProgress } from '../savestate/SaveState';
import { findTab, tabComponent, VM_TABS } from './tabs';

const HINTS: Partial<Record<string, string>> = { start: 'S', resume: 'S', pause: 'P' };

/** The VM window: header with the VM's state and actions, then its tabs. */
export function VmView({ vmId, tab }: { vmId: string; tab: string }) {
  const vm = useLibraryStore((s) => s.vms.find((v) => v.id === vmId));
  const status = useLibraryStore((s) => s.status);
  const active = findTab(tab);
  const [visited, setVisited] = useState<readonly string[]>([active.id]);
  if (!visited.includes(active.id)) setVisited([...visited, active.id]);

  const title = vm ? `${vm.name} — ${vm.runtime.state} · Vivarium` : 'Vivarium';
  useEffect(() => {
    document.title = title;
  }, [title]);

  if (!vm) {
    return (
      <div className="vm-view">
        <div className="vm-topbar">
          <BackButton className="vm-topbar__back" />
        </div>
        {status === 'loading' ? (
          <div className="vm-loading" aria-busy="true">
            <span className="spinner" /> Loading…
          </div>
        ) : (
          <div className="empty empty--page">
            <div className="empty__art">
              <Icon name="search" size={28} />
            </div>
            <h3>This VM is not in the library</h3>
            <p>It may have been deleted or renamed on disk. The library shows every VM there is.</p>
            <button type="button" className="btn btn--primary" onClick={openLibrary}>
              Back to the library
            </button>
          </div>
        )}
      </div>
    );
  }

  return (
    <div className="vm-view" data-testid="vm-view" data-vm-id={vm.id}>
      <VmHeader vm={vm} />
      <div className="vm-topbar__task">
        <SuspendProgress vmId={vm.id} />
      </div>
      <HostBanners />
      <nav className="tabs" role="tablist" aria-label="VM views">
        {VM_TABS.map((t, i) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={t.id === active.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={t.id === active.id ? 0 : -1}
            className="tab"
            title={`${t.label} (${i + 1})`}
            onClick={() => navigate({ view: 'vm', vmId: vm.id, tab: t.id }, { replace: true })}
            onKeyDown={(e) => {
              const dir = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
              if (!dir) return;
              e.preventDefault();
              const next = VM_TABS[(i + dir + VM_TABS.length) % VM_TABS.length];
              if (!next) return;
              navigate({ view: 'vm', vmId: vm.id, tab: next.id }, { replace: true });
              document.getElementById(`tab-${next.id}`)?.focus();
            }}
          >
            <Icon name={t.icon} size={16} />
            {t.label}
          </button>
        ))}
      </nav>
      <div className="vm-panels">
        {VM_TABS.filter((t) => visited.includes(t.id)).map((t) => {
          const Tab = tabComponent(t);
          const shown = t.id === active.id;
          return (
            <section
              key={t.id}
              id={`panel-${t.id}`}
              role="tabpanel"
              aria-labelledby={`tab-${t.id}`}
              className={`vm-panel vm-panel--${t.id}`}
              hidden={!shown}
            >
              <Suspense
                fallback={
                  <div className="vm-loading" aria-busy="true">
                    <span className="spinner" /> Loading {t.label.toLowerCase()}…
                  </div>
                }
              >
                <Tab vm={vm} active={shown} />
              </Suspense>
            </section>
          );
        })}
      </div>
    </div>
  );
}

function VmHeader({ vm }: { vm: VmSummary }) {
  const state = vm.runtime.state;
  const startedAt = vm.runtime.startedAt ? Date.parse(vm.runtime.startedAt) : NaN;
  const running = !Number.isNaN(startedAt) && (state === 'running' || state === 'paused');
  const now = useNow(1000, running);
  const ops = allowedOps(state);
  return (
    <header className="vm-topbar">
      <BackButton className="vm-topbar__back" />
      <div className="vm-topbar__id">
        <OsAvatar os={vm.config.os} size={28} className="vm-topbar__logo" />
        <div className="vm-topbar__names">
          <h1 title={vm.name}>{vm.name}</h1>
          <p>
            {osLabel(vm.config.os)}
            {running ? (
              <span className="vm-topbar__uptime" data-testid="uptime">
                {' · up '}
                {formatDuration(now - startedAt)}
              </span>
            ) : null}
          </p>
        </div>
        <StateBadge state={state} />
        <SavedSince vm={vm} />
      </div>
      <div className="vm-topbar__actions">
        {ops.length === 0 && isTransitional(state) ? (
          <span className="vm-topbar__wait">
            <span className="spinner spinner--small" /> Please wait…
          </span>
        ) : null}
        {ops.map((spec) => (
          <OpButton key={spec.op} vmId={vm.id} state={state} spec={spec} hint={HINTS[spec.op]} />
        ))}
        <DiscardStateButton vm={vm} />
        <MigrateButton vm={vm} />
        <ExportButton vm={vm} />
      </div>
    </header>
  );
}

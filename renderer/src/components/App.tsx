import { lazy, Suspense, useEffect } from 'react';
import { useGlobalShortcuts } from '../hooks/use-shortcuts';
import { useUiStore } from '../stores/ui';
import { Dialogs } from './Dialogs';
import { Header } from './Header';
import { HostBanners } from './HostBanners';
import { Library } from '../features/library/Library';
import { Notifications } from './Notifications';
import { TasksPanel } from './TasksPanel';
import { VmView } from '../features/vm/VmView';

/** Loaded when first opened (it brings the OS logos and its own styles). */
const HostView = lazy(() => import('../features/host/HostView'));
const NetworksView = lazy(() => import('../features/networks/NetworksView'));

export function App() {
  const route = useUiStore((s) => s.route);
  useGlobalShortcuts();
  const view = route.view;
  useEffect(() => {
    if (view === 'library') document.title = 'Vivarium';
    else if (view === 'host') document.title = 'Host · Vivarium';
    else if (view === 'networks') document.title = 'Networks · Vivarium';
  }, [view]);

  return (
    <>
      {route.view === 'vm' ? (
        <div className="app app--vm">
          <VmView key={route.vmId} vmId={route.vmId} tab={route.tab} />
        </div>
      ) : (
        <div className="app">
          <Header />
          <HostBanners />
          {route.view === 'host' || route.view === 'networks' ? (
            <Suspense
              fallback={
                <div className="vm-loading" aria-busy="true">
                  <span className="spinner" /> Loading…
                </div>
              }
            >
              {route.view === 'host' ? <HostView /> : <NetworksView />}
            </Suspense>
          ) : (
            <Library />
          )}
        </div>
      )}
      <TasksPanel />
      <Notifications />
      <Dialogs />
    </>
  );
}

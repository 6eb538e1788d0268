import { useEffect } from 'react';
import { useGlobalShortcuts } from '../hooks/use-shortcuts';
import { useUiStore } from '../stores/ui';
import { Dialogs } from './Dialogs';
import { Header } from './Header';
import { HostBanners } from './HostBanners';
import { Library } from './Library';
import { Notifications } from './Notifications';
import { TasksPanel } from './TasksPanel';
import { VmView } from './vm/VmView';

export function App() {
  const route = useUiStore((s) => s.route);
  useGlobalShortcuts();
  const inLibrary = route.view === 'library';
  useEffect(() => {
    if (inLibrary) document.title = 'Vivarium';
  }, [inLibrary]);

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
          <Library />
        </div>
      )}
      <TasksPanel />
      <Notifications />
      <Dialogs />
    </>
  );
}

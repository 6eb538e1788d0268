import { Header } from './Header';
import { HostBanners } from './HostBanners';
import { Library } from './Library';
import { Notifications } from './Notifications';

export function App() {
  return (
    <div className="app">
      <Header />
      <HostBanners />
      <Library />
      <Notifications />
    </div>
  );
}

/**
 * The page's entry, kept tiny: it connects to the engine and asks for the library first, then
 * loads React and the app (root.tsx), so the answers travel while the rest downloads.
 */
import { startTheme } from './actions/theme';
import { prefetch } from './bridge';
import './styles.css';

// Before anything renders: the stored theme (or the system's) on <html>.
startTheme();
document.title = 'Vivarium';
prefetch();

void import('./root').then(({ mount }) => {
  mount();
});

/**
 * The page's entry, kept tiny: it connects to the engine and asks for the library first, then
 * loads React and the app (root.tsx), so the answers travel while the rest downloads.
 */
import { prefetch } from './bridge';
import './styles.css';

document.title = 'Vivarium';
prefetch();

void import('./root').then(({ mount }) => {
  mount();
});

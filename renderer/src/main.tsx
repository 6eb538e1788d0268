/**
 * The page's entry, kept tiny: it connects to the engine and asks for the library first, then
 * loads React and the app (root.tsx), so the answers travel while the rest downloads. In a browser
 * opened without server mode's token it only says how to get in: the app shell is served to
 * anyone, the data is not.
 */
import { startTheme } from './actions/theme';
import { missingToken, prefetch } from './bridge';
import './styles.css';

// Before anything renders: the stored theme (or the system's) on <html>.
startTheme();
document.title = 'Vivarium';

if (missingToken()) {
  showTokenNeeded();
} else {
  prefetch();
  void import('./root').then(({ mount }) => {
    mount();
  });
}

function showTokenNeeded(): void {
  document.title = 'Vivarium: token needed';
  const root = document.getElementById('root') ?? document.body;
  const main = document.createElement('main');
  main.className = 'token-needed';
  const h1 = document.createElement('h1');
  h1.textContent = 'Vivarium needs its token';
  const code = (text: string) => {
    const el = document.createElement('code');
    el.textContent = text;
    return el;
  };
  const p = document.createElement('p');
  p.append(
    'Open the full address that ',
    code('vivarium serve'),
    ' printed when it started: it ends in ',
    code('#token=…'),
    '. The token keeps other programs and web pages away from your virtual machines.',
  );
  main.append(h1, p);
  root.replaceChildren(main);
  // The printed address pasted into this tab changes only the fragment (no new page load): once
  // it has given up its token, start the app as a fresh load would.
  window.addEventListener('hashchange', () => {
    if (!missingToken()) window.location.reload();
  });
}

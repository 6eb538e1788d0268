import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startSession } from './actions/session';
import { App } from './components/App';

export function mount(): void {
  startSession();
  const root = document.getElementById('root');
  if (!root) throw new Error('index.html has no #root');
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

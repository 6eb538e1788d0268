// First: zod must know the page forbids eval before any module builds or parses a schema.
import './lib/zod-config';
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

/** Where the OS comes from: the catalogue, or what an ISO file turns out to be. */
import type { WizardSource } from '../../stores/wizard';
import { applyCandidate, detectIso } from './iso';
import { chooseMediaKind } from './os';
import { get, set } from './shared';

export function setSource(source: WizardSource): void {
  const s = get();
  if (s.source === source) return;
  if (source === 'iso') {
    set({ source, mediaKind: 'local', setup: 'iso' });
    // An ISO checked earlier decides the OS again.
    const d = s.detection;
    if (d?.state.status === 'ready' && d.file === s.isoPath.trim())
      void applyCandidate(d.state.value.best);
    else if (s.isoPath.trim()) void detectIso();
  } else {
    set({ source });
    chooseMediaKind();
  }
}

/** "Pick it from the catalogue": keeps the ISO as the install media. */
export function pickFromCatalog(): void {
  set({ source: 'catalog', mediaKind: 'local', setup: 'iso' });
}

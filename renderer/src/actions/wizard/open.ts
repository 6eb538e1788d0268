/** Opening the wizard: a fresh draft, the catalogue and the cache list reloaded. */
import { WIZARD_INITIAL } from '../../stores/wizard';
import { forgetGuestDefaults } from './account';
import { loadCachedMedia } from './media-cache';
import { searchCatalog } from './os';
import { set } from './shared';
import { stopUpload } from './upload';

/** A fresh draft each time the wizard opens; the catalogue and the cache list are reloaded. */
export function startWizard(): void {
  stopUpload();
  forgetGuestDefaults();
  set({ ...WIZARD_INITIAL });
  void searchCatalog();
  void loadCachedMedia();
}

export function showManualForm(manual: boolean): void {
  set({ manual });
}

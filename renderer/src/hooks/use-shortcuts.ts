import { useEffect } from 'react';
import { runVmOperation } from '../actions/vm';
import { navigate, openDialog, openHost, openLibrary } from '../actions/ui';
import { canRun } from '../lib/vm-state';
import { findVm } from '../stores/library';
import { FULLSCREEN_EVENT } from '../lib/fullscreen-event';
import { useUiStore } from '../stores/ui';
import { VM_TABS } from '../features/vm/tabs';

/** Everything the shortcuts dialog lists; keep in step with the handler below. */
export const SHORTCUTS: ReadonlyArray<{ keys: string[]; what: string; where: string }> = [
  { keys: ['?'], what: 'Show these shortcuts', where: 'Everywhere' },
  { keys: ['/'], what: 'Search machines', where: 'Library' },
  { keys: ['N'], what: 'New VM', where: 'Library' },
  { keys: ['H'], what: 'Host: QEMU, accelerators and install media', where: 'Everywhere' },
  { keys: ['Esc'], what: 'Back to the library', where: 'VM window, Host, Networks' },
  { keys: ['1', '…', String(VM_TABS.length)], what: 'Switch tabs', where: 'VM window' },
  { keys: ['S'], what: 'Start or resume the VM', where: 'VM window' },
  { keys: ['P'], what: 'Pause or resume the VM', where: 'VM window' },
  { keys: ['F'], what: 'Full screen display', where: 'Display tab' },
  { keys: ['Ctrl', 'Shift', 'C'], what: 'Copy the selection', where: 'Console' },
  { keys: ['Ctrl', 'Shift', 'V'], what: 'Paste into the console', where: 'Console' },
];

/** Keys typed into a field, a terminal or the VM's screen belong there, not to shortcuts. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (['INPUT', 'TEXTAREA', 'SELECT', 'CANVAS'].includes(target.tagName)) return true;
  return target.closest('.xterm, .display-screen, dialog') !== null;
}

export function useGlobalShortcuts(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      if (isTypingTarget(e.target)) return;
      const { route, dialog } = useUiStore.getState();
      if (dialog) return;
      const key = e.key;
      if (key === '?') {
        e.preventDefault();
        openDialog({ type: 'shortcuts' });
        return;
      }
      if ((key === 'h' || key === 'H') && route.view !== 'host') {
        e.preventDefault();
        openHost();
        return;
      }
      if (route.view === 'library') {
        if (key === 'n' || key === 'N') {
          e.preventDefault();
          openDialog({ type: 'newVm' });
        }
        return;
      }
      if (route.view === 'host' || route.view === 'networks') {
        if (key === 'Escape') {
          e.preventDefault();
          openLibrary();
        }
        return;
      }
      const vm = findVm(route.vmId);
      if (key === 'Escape') {
        if (document.fullscreenElement) return;
        e.preventDefault();
        openLibrary();
        return;
      }
      if (/^[1-9]$/.test(key)) {
        const tab = VM_TABS[Number(key) - 1];
        if (tab) {
          e.preventDefault();
          navigate({ view: 'vm', vmId: route.vmId, tab: tab.id }, { replace: true });
        }
        return;
      }
      if (!vm) return;
      const state = vm.runtime.state;
      const pending = useUiStore.getState().pending[vm.id];
      const lower = key.toLowerCase();
      if (lower === 's') {
        const op = canRun(state, 'start', pending) ? 'start' : 'resume';
        if (canRun(state, op, pending)) {
          e.preventDefault();
          void runVmOperation(vm.id, op);
        }
      } else if (lower === 'p') {
        const op = state === 'paused' ? 'resume' : 'pause';
        if (canRun(state, op, pending)) {
          e.preventDefault();
          void runVmOperation(vm.id, op);
        }
      } else if (lower === 'f' && route.tab === 'display') {
        e.preventDefault();
        window.dispatchEvent(new Event(FULLSCREEN_EVENT));
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

import { openEngine, type Engine } from '../../electron/engine';
import { requireGuest, tempHome } from './fixtures';

export interface GuestEngine {
  home: Awaited<ReturnType<typeof tempHome>>;
  engine: Engine;
  /** Powers off every VM still running, closes the engine and removes the home. */
  close(): Promise<void>;
}

/** The app's engine on a fresh home, for tests that boot the fixture guest (built first). */
export async function openGuestEngine(prefix: string): Promise<GuestEngine> {
  requireGuest();
  const home = await tempHome(prefix);
  const engine = await openEngine({ home: home.dir, role: 'owner' });
  return {
    home,
    engine,
    async close() {
      const list = await engine.call('vm.list', {}).catch(() => []);
      for (const vm of list) await engine.call('vm.powerOff', { vm: vm.id }).catch(() => undefined);
      await engine.close();
      await home.remove();
    },
  };
}

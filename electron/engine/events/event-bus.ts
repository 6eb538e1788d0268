import type { ApiEvent } from '../../../common/contract';

/**
 * The engine's events on their way to the front doors: services emit here, the Engine's onEvent
 * subscribes. A failing listener must not stop the others, nor the service that emitted.
 */
export class EventBus {
  private readonly listeners = new Set<(event: ApiEvent) => void>();

  emit(event: ApiEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // The other listeners still hear it.
      }
    }
  }

  on(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clear(): void {
    this.listeners.clear();
  }
}

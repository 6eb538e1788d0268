import { useUiStore } from '../stores/ui';

export function setSearch(search: string): void {
  useUiStore.setState({ search });
}

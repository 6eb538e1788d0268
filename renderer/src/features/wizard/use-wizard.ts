import { useMemo } from 'react';
import { useHostStore } from '../../stores/host';
import { useLibraryStore } from '../../stores/library';
import { useTasksStore } from '../../stores/tasks';
import { useWizardStore } from '../../stores/wizard';
import { derive } from './model';

/** The wizard's draft, what it means, and the host facts the steps show. */
export function useWizard() {
  const s = useWizardStore();
  const tasks = useTasksStore((st) => st.tasks);
  const vms = useLibraryStore((st) => st.vms);
  const host = useHostStore((st) => st.info);
  const taken = useMemo(() => vms.map((v) => v.name), [vms]);
  const hostMemory = host?.totalMemoryMiB ?? null;
  const d = useMemo(
    () => derive(s, tasks, taken, hostMemory, host),
    [s, tasks, taken, hostMemory, host],
  );
  return { s, d, host, taken };
}

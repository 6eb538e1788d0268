import { useEffect, useMemo, useState } from 'react';
import type { SnapshotList, SnapshotNode, TaskInfo } from '../../../../../common/contract';
import { asksFirst } from '../../../../../common/rules/confirmations';
import { isSnapshotTask, loadSnapshots, revertSnapshot } from '../../../actions/snapshots';
import { Icon } from '../../../components/Icon';
import type { TabProps } from '../tab-props';
import { useNow } from '../../../hooks/use-now';
import { plural } from '../../../../../common/format';
import { useSnapshotsStore } from '../../../stores/snapshots';
import { useTasksStore } from '../../../stores/tasks';
import { DeleteDialog, RevertDialog, TakeDialog } from './SnapshotDialogs';
import { SnapshotCard } from './SnapshotCard';
import './snapshots.css';

export type SnapshotDialog =
  | { type: 'take' }
  | { type: 'revert'; node: SnapshotNode }
  | { type: 'delete'; node: SnapshotNode };

/** The VM's snapshots as a timeline with branches, "you are here", and what can be done. */
export default function SnapshotsTab({ vm, active }: TabProps) {
  const entry = useSnapshotsStore((s) => s.byVm[vm.id]);
  const state = vm.runtime.state;
  useEffect(() => {
    if (active) void loadSnapshots(vm.id);
  }, [vm.id, state, active]);
  const tasks = useTasksStore((s) => s.tasks);
  const running = useMemo(
    () => Object.values(tasks).filter((t) => t.state === 'running' && isSnapshotTask(t, vm.id)),
    [tasks, vm.id],
  );
  const [dialog, setDialog] = useState<SnapshotDialog | null>(null);
  const now = useNow(30_000, active);
  const list = entry?.list ?? null;
  const busy = running.length > 0;

  if (!list) {
    return (
      <div className="snaps" data-testid="snapshots">
        {entry?.status === 'error' ? (
          <div className="callout callout--error callout--block">
            <p>
              <strong>The snapshots could not be read.</strong> {entry.error}
            </p>
            <button type="button" className="btn" onClick={() => void loadSnapshots(vm.id)}>
              <Icon name="refresh" size={15} /> Try again
            </button>
          </div>
        ) : (
          <div className="vm-loading" aria-busy="true">
            <span className="spinner" /> Loading snapshots…
          </div>
        )}
      </div>
    );
  }

  const can = list.canSnapshot;
  return (
    <div className="snaps" data-testid="snapshots">
      <header className="snaps__head">
        <div className="snaps__titles">
          <h2>Snapshots</h2>
          <p>
            {list.snapshots.length === 0
              ? 'Save the VM as it is now, and come back to it in one click.'
              : `${plural(list.snapshots.length, 'snapshot')} · ${
                  can.ok
                    ? can.kind === 'live'
                      ? 'new ones save memory and disks (the VM keeps running)'
                      : 'new ones save the disks (the VM is off)'
                    : 'cannot take one now'
                }`}
          </p>
        </div>
        <div className="snaps__actions">
          <button
            type="button"
            className="btn btn--ghost"
            title="Read the snapshots again"
            aria-label="Refresh"
            onClick={() => void loadSnapshots(vm.id)}
          >
            <Icon name="refresh" size={15} />
          </button>
          <button
            type="button"
            className="btn btn--primary"
            data-testid="snapshot-take"
            disabled={!can.ok || busy}
            title={can.ok ? (busy ? 'Wait for the current snapshot task' : '') : can.reason}
            onClick={() => setDialog({ type: 'take' })}
          >
            <Icon name="camera" size={15} />
            Take snapshot
          </button>
        </div>
      </header>
      {!can.ok ? (
        <p className="callout callout--info snaps__why" data-testid="snapshot-cannot">
          <Icon name="info" size={15} />
          <span>{can.reason}</span>
        </p>
      ) : null}
      {entry?.error ? (
        <p className="callout callout--error snaps__why">
          <Icon name="alert" size={15} />
          <span>Showing the last known snapshots: {entry.error}</span>
        </p>
      ) : null}
      {running.map((t) => (
        <TaskStrip key={t.id} task={t} />
      ))}
      {list.snapshots.length === 0 ? (
        <div className="empty snaps__empty">
          <div className="empty__art">
            <Icon name="camera" size={28} />
          </div>
          <h3>No snapshots yet</h3>
          <p>
            A snapshot keeps this moment:{' '}
            {can.ok && can.kind === 'disk' ? 'the disks' : 'memory, devices and disks'}. Try
            something risky, then revert if it goes wrong.
          </p>
        </div>
      ) : (
        <Timeline
          list={list}
          vmId={vm.id}
          now={now}
          busy={busy}
          onRevert={(node) => {
            if (asksFirst('revert', vm.config)) setDialog({ type: 'revert', node });
            else void revertSnapshot(vm.id, node);
          }}
          onDelete={(node) => setDialog({ type: 'delete', node })}
        />
      )}
      {dialog?.type === 'take' ? (
        <TakeDialog vm={vm} list={list} onClose={() => setDialog(null)} />
      ) : dialog?.type === 'revert' ? (
        <RevertDialog vm={vm} list={list} node={dialog.node} onClose={() => setDialog(null)} />
      ) : dialog?.type === 'delete' ? (
        <DeleteDialog vm={vm} list={list} node={dialog.node} onClose={() => setDialog(null)} />
      ) : null}
    </div>
  );
}

function TaskStrip({ task }: { task: TaskInfo }) {
  const pct =
    task.progress === null ? null : Math.round(Math.min(1, Math.max(0, task.progress)) * 100);
  return (
    <div className="snaps__task" data-testid="snapshot-progress" role="status">
      <span className="spinner spinner--small" />
      <div className="snaps__task-body">
        <div className="snaps__task-line">
          <strong>{task.title}</strong>
          <span>{[task.message, pct === null ? null : `${pct}%`].filter(Boolean).join(' · ')}</span>
        </div>
        <div
          className={`progress${pct === null ? ' progress--indeterminate' : ''}`}
          role="progressbar"
          aria-label={task.title}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct ?? undefined}
        >
          <span style={{ width: pct === null ? undefined : `${pct}%` }} />
        </div>
      </div>
    </div>
  );
}

interface TimelineProps {
  list: SnapshotList;
  vmId: string;
  now: number;
  busy: boolean;
  onRevert: (node: SnapshotNode) => void;
  onDelete: (node: SnapshotNode) => void;
}

const HERE = '\u0000here';

/**
 * A chain of snapshots in one column; where history forks (several children, or "you are here"
 * beside a child after a revert) each way hangs off it as an indented branch.
 */
function Timeline(props: TimelineProps) {
  const { list } = props;
  const byId = useMemo(() => new Map(list.snapshots.map((n) => [n.id, n])), [list]);
  const kidsOf = (id: string | null): string[] => {
    const kids = id === null ? [...list.roots] : [...(byId.get(id)?.children ?? [])];
    if (list.current === id) kids.push(HERE);
    return kids;
  };
  return (
    <div className="snaps__timeline" data-testid="snapshot-timeline">
      <Fork ids={kidsOf(null)} kidsOf={kidsOf} byId={byId} props={props} root />
    </div>
  );
}

interface ChainCtx {
  kidsOf: (id: string | null) => string[];
  byId: Map<string, SnapshotNode>;
  props: TimelineProps;
}

function Fork({ ids, root = false, ...ctx }: ChainCtx & { ids: string[]; root?: boolean }) {
  if (ids.length === 1 && root) return <Chain start={ids[0] as string} {...ctx} />;
  return (
    <ul className={`snap-fork${root ? ' snap-fork--root' : ''}`}>
      {ids.map((id) => (
        <li key={id} className="snap-fork__branch">
          <Chain start={id} {...ctx} />
        </li>
      ))}
    </ul>
  );
}

function Chain({ start, kidsOf, byId, props }: ChainCtx & { start: string }) {
  const items: string[] = [];
  let forkIds: string[] = [];
  for (let id: string | undefined = start; id !== undefined;) {
    items.push(id);
    if (id === HERE) break;
    const kids = kidsOf(id);
    if (kids.length === 1) id = kids[0];
    else {
      forkIds = kids;
      id = undefined;
    }
  }
  return (
    <ol className="snap-chain">
      {items.map((id, i) => (
        <li key={id} className={`snap-step${id === HERE ? ' snap-step--here' : ''}`}>
          <span className="snap-step__dot" aria-hidden="true" />
          {id === HERE ? (
            <HereMarker list={props.list} />
          ) : (
            <SnapshotCard
              node={byId.get(id) as SnapshotNode}
              vmId={props.vmId}
              current={props.list.current === id}
              now={props.now}
              busy={props.busy}
              onRevert={props.onRevert}
              onDelete={props.onDelete}
            />
          )}
          {i === items.length - 1 && forkIds.length > 0 ? (
            <Fork ids={forkIds} kidsOf={kidsOf} byId={byId} props={props} />
          ) : null}
        </li>
      ))}
    </ol>
  );
}

function HereMarker({ list }: { list: SnapshotList }) {
  return (
    <div className="snap-here" data-testid="snapshot-here">
      <Icon name="forward" size={14} />
      <strong>You are here</strong>
      <span>
        {list.state === 'stopped'
          ? 'the VM as it is on disk now'
          : `the VM now (${list.state}): what is not in a snapshot yet`}
      </span>
    </div>
  );
}

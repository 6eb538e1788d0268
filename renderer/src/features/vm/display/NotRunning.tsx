import { isTransitional, type VmState } from '../../../../../common/vm-state';
import { runVmOperation } from '../../../actions/vm';
import { navigate } from '../../../actions/ui';
import { Icon } from '../../../components/Icon';
import { opLabel } from '../../../lib/save-state';

/** What the display area shows while there is no screen: off, crashed, or on its way. */
export function NotRunning({ vmId, state }: { vmId: string; state: VmState }) {
  const busy = isTransitional(state);
  return (
    <div className="display-empty">
      <div className="display-empty__art">
        {busy ? <span className="spinner spinner--large" /> : <Icon name="monitor" size={34} />}
      </div>
      {busy ? (
        <h3>
          {state === 'starting' ? 'Starting…' : `${state[0]?.toUpperCase()}${state.slice(1)}…`}
        </h3>
      ) : state === 'crashed' ? (
        <>
          <h3>QEMU stopped unexpectedly</h3>
          <p>The Overview shows what it said. Start the VM again when it is fixed.</p>
        </>
      ) : state === 'saved' ? (
        <>
          <h3>The VM is saved to disk</h3>
          <p>Resume it to see its screen here, where it was.</p>
        </>
      ) : (
        <>
          <h3>The VM is off</h3>
          <p>Start it to see its screen here.</p>
        </>
      )}
      {!busy ? (
        <div className="display-empty__actions">
          <button
            type="button"
            className="btn btn--primary"
            onClick={() => void runVmOperation(vmId, 'start')}
          >
            <Icon name="play" size={14} filled />
            {opLabel('start', state, 'Start')}
          </button>
          {state === 'crashed' ? (
            <button
              type="button"
              className="btn"
              onClick={() => navigate({ view: 'vm', vmId, tab: 'overview' })}
            >
              Show details
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

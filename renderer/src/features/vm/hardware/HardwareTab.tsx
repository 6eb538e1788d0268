import { createElement, lazy, Suspense, useState, type ComponentType } from 'react';
import { navigate } from '../../../actions/ui';
import { Icon } from '../../../components/Icon';
import { Modal } from '../../../components/Modal';
import type { TabProps } from '../tab-props';
import { HARDWARE_KINDS, type HardwarePanelProps } from './kinds';
import './hardware.css';

/** One React.lazy per kind: a panel's code loads the first time it is shown. */
const PANELS: ReadonlyMap<string, ComponentType<HardwarePanelProps>> = new Map(
  HARDWARE_KINDS.map((k) => [k.id, lazy(k.load)]),
);

/**
 * The VM's hardware: a device list on the left (each kind with a summary), the selected kind's
 * devices and actions on the right, and "Add hardware" choosing the kind to add.
 */
export default function HardwareTab({ vm, active }: TabProps) {
  const [selected, setSelected] = useState<string>(HARDWARE_KINDS[0]?.id ?? '');
  const [adding, setAdding] = useState<string | null>(null);
  const [choosing, setChoosing] = useState(false);
  const kind = HARDWARE_KINDS.find((k) => k.id === selected) ?? HARDWARE_KINDS[0];
  const Panel = kind ? PANELS.get(kind.id) : undefined;
  const addable = HARDWARE_KINDS.filter((k) => k.addLabel !== null);

  return (
    <div className="hardware" data-testid="hardware-tab">
      <aside className="hardware__list" aria-label="Devices">
        <button
          type="button"
          className="btn btn--primary hardware__add"
          data-testid="add-hardware"
          onClick={() => setChoosing(true)}
        >
          <Icon name="plus" size={15} />
          Add hardware
        </button>
        <ul role="listbox" aria-label="Device kinds">
          {HARDWARE_KINDS.map((k) => (
            <li key={k.id}>
              <button
                type="button"
                role="option"
                aria-selected={k.id === kind?.id}
                className="hardware__item"
                data-testid={`hw-${k.id}`}
                onClick={() => setSelected(k.id)}
              >
                <Icon name={k.icon} size={16} />
                <span className="hardware__item-text">
                  <span className="hardware__item-label">{k.label}</span>
                  <span className="hardware__item-summary">{k.summary(vm.config)}</span>
                </span>
              </button>
            </li>
          ))}
          <li>
            <button
              type="button"
              className="hardware__item"
              data-testid="hw-network"
              title="Network cards have their own tab"
              onClick={() => navigate({ view: 'vm', vmId: vm.id, tab: 'network' })}
            >
              <Icon name="globe" size={16} />
              <span className="hardware__item-text">
                <span className="hardware__item-label">Network cards</span>
                <span className="hardware__item-summary">
                  {vm.config.nics.length === 0
                    ? 'None'
                    : `${vm.config.nics.length} card${vm.config.nics.length === 1 ? '' : 's'} · in the Network tab`}
                </span>
              </span>
            </button>
          </li>
        </ul>
      </aside>
      <section className="hardware__panel" aria-label={kind?.label ?? 'Device'}>
        {kind && Panel ? (
          <Suspense
            fallback={
              <div className="vm-loading" aria-busy="true">
                <span className="spinner" /> Loading…
              </div>
            }
          >
            {
              // The panels are made once, at module load (PANELS); createElement picks one.
              createElement(Panel, {
                vm,
                active,
                adding: adding === kind.id,
                onAddDone: () => setAdding(null),
              })
            }
          </Suspense>
        ) : null}
      </section>
      {choosing ? (
        <Modal title="Add hardware" onClose={() => setChoosing(false)}>
          <ul className="hardware__choices">
            {addable.map((k) => (
              <li key={k.id}>
                <button
                  type="button"
                  className="hardware__choice"
                  data-testid={`add-${k.id}`}
                  onClick={() => {
                    setChoosing(false);
                    setSelected(k.id);
                    setAdding(k.id);
                  }}
                >
                  <Icon name={k.icon} size={18} />
                  <span>
                    <strong>{k.label}</strong>
                    <span>{k.addLabel}</span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </Modal>
      ) : null}
    </div>
  );
}

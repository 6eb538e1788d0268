import { isLoopbackAddress } from '../../../../../../common/rules/port-forwards';
import { Icon } from '../../../../components/Icon';
import { NIC_MODELS } from '../../../../lib/schemas';
import type { ForwardDraft } from '../draft';
import { Row, Section, Select, type SettingsForm } from '../form';

/** The network mode, the card the guest sees and the ports forwarded into it. */
export function NetworkSection({ form }: { form: SettingsForm }) {
  return (
    <Section title="Network">
      <div className="form__row">
        <Row form={form} field="networkMode" label="Network">
          <Select
            form={form}
            field="networkMode"
            options={[
              ['user', 'User-mode NAT'],
              ['none', 'None'],
            ]}
          />
        </Row>
        <Row form={form} field="nicModel" label="Network card">
          <Select form={form} field="nicModel" options={NIC_MODELS.map((m) => [m, m] as const)} />
        </Row>
      </div>
      <PortForwards form={form} />
    </Section>
  );
}

function PortForwards({ form }: { form: SettingsForm }) {
  const { draft, set, err } = form;
  const off = form.locked('portForwards');
  const setForward = (i: number, f: Partial<ForwardDraft>) =>
    set(
      'portForwards',
      draft.portForwards.map((x, k) => (k === i ? { ...x, ...f } : x)),
    );
  return (
    <div className={`field${off ? ' field--locked' : ''}`}>
      <span className="field__label">Port forwards</span>
      {draft.portForwards.length === 0 ? (
        <p className="field__hint">None: the guest reaches out, nothing reaches in.</p>
      ) : null}
      {draft.portForwards.map((f, i) => (
        <div className="forward" key={i}>
          <select
            value={f.protocol}
            disabled={off}
            aria-label="Protocol"
            onChange={(e) => setForward(i, { protocol: e.target.value as 'tcp' | 'udp' })}
          >
            <option value="tcp">TCP</option>
            <option value="udp">UDP</option>
          </select>
          <input
            className="mono"
            aria-label="Host address"
            value={f.hostAddress}
            disabled={off}
            aria-invalid={err(`portForwards.${i}.hostAddress`) ? true : undefined}
            onChange={(e) => setForward(i, { hostAddress: e.target.value })}
          />
          <span className="forward__sep">:</span>
          <input
            className="mono forward__port"
            aria-label="Host port"
            inputMode="numeric"
            value={f.hostPort}
            disabled={off}
            aria-invalid={err(`portForwards.${i}.hostPort`) ? true : undefined}
            onChange={(e) => setForward(i, { hostPort: e.target.value })}
          />
          <span className="forward__sep">→ guest</span>
          <input
            className="mono forward__port"
            aria-label="Guest port"
            inputMode="numeric"
            value={f.guestPort}
            disabled={off}
            aria-invalid={err(`portForwards.${i}.guestPort`) ? true : undefined}
            onChange={(e) => setForward(i, { guestPort: e.target.value })}
          />
          <button
            type="button"
            className="icon-btn"
            aria-label="Remove this forward"
            disabled={off}
            onClick={() =>
              set(
                'portForwards',
                draft.portForwards.filter((_, k) => k !== i),
              )
            }
          >
            <Icon name="close" size={14} />
          </button>
          {f.hostAddress.trim() !== '' && !isLoopbackAddress(f.hostAddress) ? (
            // Any address but loopback listens on every network: the user says yes explicitly.
            <label className="forward__public">
              <input
                type="checkbox"
                checked={f.public === true}
                disabled={off}
                onChange={(e) => setForward(i, { public: e.target.checked })}
              />
              Reachable from other computers
            </label>
          ) : null}
          {['hostAddress', 'hostPort', 'guestPort'].map((k) =>
            err(`portForwards.${i}.${k}`) ? (
              <p className="field__error forward__error" key={k}>
                {err(`portForwards.${i}.${k}`)}
              </p>
            ) : null,
          )}
        </div>
      ))}
      <button
        type="button"
        className="btn btn--compact btn--ghost"
        disabled={off || draft.networkMode === 'none'}
        onClick={() =>
          set('portForwards', [
            ...draft.portForwards,
            {
              protocol: 'tcp',
              hostAddress: '127.0.0.1',
              hostPort: '2222',
              guestPort: '22',
              public: false,
            },
          ])
        }
      >
        <Icon name="plus" size={14} />
        Add a port forward
      </button>
    </div>
  );
}

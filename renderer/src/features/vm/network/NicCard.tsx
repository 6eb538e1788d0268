import { useEffect, useId, useMemo, useState } from 'react';
import type {
  BridgeCheck,
  NetworkSummary,
  NicInfo,
  VmSummary,
} from '../../../../../common/contract';
import {
  ATTACHMENT_HELP,
  ATTACHMENT_KINDS,
  bridgeNameProblem,
} from '../../../../../common/rules/networks';
import { isGuestUp } from '../../../../../common/vm-state';
import { checkBridge, updateNic, type Outcome } from '../../../actions/networks';
import { NetworkForm } from '../../networks/NetworkForm';
import { CopyCommand } from '../../../components/CopyCommand';
import { Icon } from '../../../components/Icon';
import {
  ATTACHMENT_LABELS,
  NIC_MODEL_LABELS,
  NIC_MODELS,
  attachmentSummary,
  cardDraft,
  cardErrors,
  cardPatch,
  forwardsApply,
  generateMac,
  type CardDraft,
  type NicModel,
} from '../../../lib/network-drafts';
import { ForwardTable } from './ForwardTable';

/** The help line without its leading "NAT: " (the picker shows the name beside it). */
function helpLine(kind: keyof typeof ATTACHMENT_HELP): string {
  const rest = ATTACHMENT_HELP[kind].replace(/^[^:]+:\s*/, '');
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

/** One network card: model, MAC, attachment (with its readiness), addresses and forwards. */
export function NicCard({
  vm,
  info,
  all,
  networks,
  locked,
  onRemove,
}: {
  vm: VmSummary;
  info: NicInfo;
  all: readonly NicInfo[];
  networks: NetworkSummary[] | null;
  locked: string | null;
  onRemove: () => Promise<Outcome<unknown>>;
}) {
  const id = useId();
  const saved = useMemo(() => cardDraft(info.config), [info.config]);
  const savedKey = JSON.stringify(saved);
  const [draft, setDraft] = useState<CardDraft>(saved);
  const [base, setBase] = useState(savedKey);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The card changed in the engine (a save, another window): the form starts over from it. The
  // list is re-read every few seconds; an unchanged card keeps what is being typed.
  if (base !== savedKey) {
    setBase(savedKey);
    setDraft(saved);
  }

  const otherMacs = all.filter((n) => n.index !== info.index).map((n) => n.config.mac);
  const errors = cardErrors(draft, otherMacs);
  const patch = cardPatch(draft, info.config);
  const hasErrors = Object.keys(errors).length > 0;
  const set = <K extends keyof CardDraft>(key: K, value: CardDraft[K]) => {
    setError(null);
    setDraft((d) => ({ ...d, [key]: value }));
  };
  const forwards = forwardsApply(info.config, networks);
  const up = isGuestUp(vm.runtime.state);
  const title = `Card ${info.index + 1}`;

  const save = () => {
    if (!patch || hasErrors) return;
    setBusy(true);
    setError(null);
    void updateNic(vm.id, info.index, patch).then((r) => {
      setBusy(false);
      if (!r.ok) setError(r.message);
    });
  };

  return (
    <section
      className="card nic"
      aria-label={title}
      data-testid={`nic-${info.index}`}
      data-attach={info.config.attach.kind}
    >
      <h2 className="card__title">
        <Icon name="plug" size={16} />
        {title}
        <span className="nic__summary">{attachmentSummary(info.config.attach)}</span>
        <button
          type="button"
          className="icon-btn nic__remove"
          aria-label={`Remove ${title.toLowerCase()}`}
          title={locked ?? `Remove ${title.toLowerCase()}`}
          disabled={locked !== null || busy}
          onClick={() => {
            setBusy(true);
            void onRemove().then((r) => {
              setBusy(false);
              if (!r.ok) setError(r.message);
            });
          }}
        >
          <Icon name="trash" size={16} />
        </button>
      </h2>

      <div className="nic__row">
        <div className="field">
          <label htmlFor={`${id}-model`}>
            Model
            {locked ? <Icon name="lock" size={12} /> : null}
          </label>
          <select
            id={`${id}-model`}
            value={draft.model}
            disabled={locked !== null}
            title={locked ?? undefined}
            onChange={(e) => set('model', e.target.value as NicModel)}
          >
            {NIC_MODELS.map((m) => (
              <option key={m} value={m}>
                {NIC_MODEL_LABELS[m].name}
              </option>
            ))}
          </select>
          <p className="field__hint" data-testid="model-help">
            {NIC_MODEL_LABELS[draft.model].help}
          </p>
        </div>
        <div className={`field${errors.mac ? ' field--error' : ''}`}>
          <label htmlFor={`${id}-mac`}>
            MAC address
            {locked ? <Icon name="lock" size={12} /> : null}
          </label>
          <div className="nic__mac">
            <input
              id={`${id}-mac`}
              className="mono"
              value={draft.mac}
              disabled={locked !== null}
              title={locked ?? undefined}
              spellCheck={false}
              autoComplete="off"
              aria-invalid={errors.mac ? true : undefined}
              onChange={(e) => set('mac', e.target.value)}
            />
            <button
              type="button"
              className="btn btn--compact"
              data-testid="generate-mac"
              disabled={locked !== null}
              title={
                locked ??
                'A new random address (52:54:00:…); a guest may see a new interface after the change'
              }
              onClick={() =>
                set(
                  'mac',
                  generateMac(() => [...crypto.getRandomValues(new Uint8Array(3))], otherMacs),
                )
              }
            >
              <Icon name="refresh" size={13} />
              Generate
            </button>
          </div>
        </div>
      </div>
      {errors.mac ? (
        <p className="field__error nic__error" role="alert">
          {errors.mac}
        </p>
      ) : null}

      <fieldset className="attach" disabled={locked !== null} title={locked ?? undefined}>
        <legend className="field__label">
          Attached to
          {locked ? <Icon name="lock" size={12} /> : null}
        </legend>
        {ATTACHMENT_KINDS.map((kind) => (
          <label key={kind} className={`attach__option${draft.kind === kind ? ' is-on' : ''}`}>
            <input
              type="radio"
              name={`${id}-attach`}
              value={kind}
              checked={draft.kind === kind}
              onChange={() => {
                set('kind', kind);
                if (kind === 'network' && draft.network === '' && networks?.[0]) {
                  set('network', networks[0].config.name);
                }
              }}
            />
            <span className="attach__name">{ATTACHMENT_LABELS[kind]}</span>
            <span className="attach__help">{helpLine(kind)}</span>
          </label>
        ))}
      </fieldset>

      {draft.kind === 'nat' ? (
        <label className="check network-form__opt nic__sub" title={locked ?? undefined}>
          <input
            type="checkbox"
            data-testid="nat-internet"
            checked={draft.internet}
            disabled={locked !== null}
            onChange={(e) => set('internet', e.target.checked)}
          />
          <span>
            <strong>Internet</strong>
            <span className="network-form__help">
              The guest reaches the host and the internet through QEMU’s NAT. Off: it reaches
              nothing outside; forwards still come in.
            </span>
          </span>
        </label>
      ) : null}
      {draft.kind === 'network' ? (
        <NetworkPicker
          id={`${id}-network`}
          value={draft.network}
          networks={networks}
          error={errors.network}
          locked={locked}
          onChange={(v) => set('network', v)}
        />
      ) : null}
      {draft.kind === 'bridge' ? (
        <BridgePicker
          id={`${id}-bridge`}
          value={draft.bridge}
          error={errors.bridge}
          locked={locked}
          onChange={(v) => set('bridge', v)}
        />
      ) : null}

      {patch || error ? (
        <div className="nic__save">
          {error ? (
            <p className="field__error" role="alert">
              {error}
            </p>
          ) : (
            <span className="muted">Unsaved changes to this card</span>
          )}
          <button
            type="button"
            className="btn"
            disabled={busy || !patch}
            onClick={() => {
              setError(null);
              setDraft(saved);
            }}
          >
            Revert
          </button>
          <button
            type="button"
            className="btn btn--primary"
            data-testid="save-card"
            disabled={busy || !patch || hasErrors || locked !== null}
            onClick={save}
          >
            {busy ? <span className="spinner spinner--small" /> : <Icon name="check" size={14} />}
            Save card
          </button>
        </div>
      ) : null}

      <dl className="facts nic__facts">
        <div>
          <dt>Addresses</dt>
          <dd data-testid="nic-addresses">
            {info.addresses.length > 0 ? (
              <span className="nic__addrs">
                {info.addresses.map((a) => (
                  <code key={a}>{a}</code>
                ))}
              </span>
            ) : (
              <span className="muted">
                {up
                  ? 'Not known yet: the guest agent or a DHCP lease tells them.'
                  : 'Shown while the VM runs.'}
              </span>
            )}
          </dd>
        </div>
      </dl>
      {info.problem ? (
        <p className="callout callout--error" data-testid="nic-problem">
          <Icon name="alert" size={15} />
          <span>{info.problem}</span>
        </p>
      ) : null}

      {forwards ? <ForwardTable vm={vm} info={info} all={all} mode={forwards} /> : null}
    </section>
  );
}

/** The option that opens the new-network form instead of choosing a network. */
const CREATE = '\u0000create';

function NetworkPicker({
  id,
  value,
  networks,
  error,
  locked,
  onChange,
}: {
  id: string;
  value: string;
  networks: NetworkSummary[] | null;
  error: string | undefined;
  locked: string | null;
  onChange: (v: string) => void;
}) {
  const [creating, setCreating] = useState(false);
  const names = (networks ?? []).map((n) => n.config.name);
  // A card may name a network that was deleted meanwhile: keep it selectable, marked.
  const missing = value !== '' && networks !== null && !names.includes(value);
  return (
    <div className={`field nic__sub${error ? ' field--error' : ''}`}>
      <label htmlFor={id}>Network</label>
      {names.length === 0 && !missing ? (
        <p className="field__hint nic__nonets">
          There are no private networks yet.
          <button
            type="button"
            className="btn btn--compact"
            data-testid="create-network-inline"
            disabled={locked !== null}
            onClick={() => setCreating(true)}
          >
            <Icon name="plus" size={13} />
            Create network…
          </button>
        </p>
      ) : (
        <select
          id={id}
          value={value}
          disabled={locked !== null}
          aria-invalid={error ? true : undefined}
          data-testid="network-select"
          onChange={(e) => {
            if (e.target.value === CREATE) setCreating(true);
            else onChange(e.target.value);
          }}
        >
          {value === '' ? <option value="">Choose a network…</option> : null}
          {missing ? <option value={value}>{value} (does not exist)</option> : null}
          {(networks ?? []).map((n) => (
            <option key={n.config.id} value={n.config.name}>
              {n.config.name} · {n.config.subnet}
              {n.config.nat ? ' · NAT' : ''}
            </option>
          ))}
          <option value={CREATE}>Create network…</option>
        </select>
      )}
      {error && names.length > 0 ? (
        <p className="field__error" role="alert">
          {error}
        </p>
      ) : null}
      {creating ? (
        <NetworkForm
          editing={null}
          networks={networks ?? []}
          onClose={() => setCreating(false)}
          onDone={(n) => onChange(n.config.name)}
        />
      ) : null}
    </div>
  );
}

/** The host bridge's name and whether it is ready, with the root commands that would fix it. */
function BridgePicker({
  id,
  value,
  error,
  locked,
  onChange,
}: {
  id: string;
  value: string;
  error: string | undefined;
  locked: string | null;
  onChange: (v: string) => void;
}) {
  const [check, setCheck] = useState<{ for: string; result: Outcome<BridgeCheck> } | null>(null);
  // After running the root commands the person asks again; the name has not changed then.
  const [round, setRound] = useState(0);
  const name = value.trim();
  const valid = name !== '' && bridgeNameProblem(name) === null;
  useEffect(() => {
    if (!valid) return;
    let current = true;
    // Waits for the typing to pause: each check reads the host's bridges and helper.
    const t = setTimeout(() => {
      void checkBridge(name).then((result) => {
        if (current) setCheck({ for: name, result });
      });
    }, 350);
    return () => {
      current = false;
      clearTimeout(t);
    };
  }, [name, valid, round]);
  const shown = valid && check?.for === name ? check.result : null;
  const bridges = shown?.ok ? shown.value.bridges : [];
  return (
    <div className={`field nic__sub${error ? ' field--error' : ''}`}>
      <label htmlFor={id}>Host bridge</label>
      <input
        id={id}
        className="mono"
        value={value}
        list={`${id}-list`}
        placeholder="br0"
        disabled={locked !== null}
        spellCheck={false}
        autoComplete="off"
        aria-invalid={error ? true : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      <datalist id={`${id}-list`}>
        {bridges.map((b) => (
          <option key={b} value={b} />
        ))}
      </datalist>
      {error ? (
        <p className="field__error" role="alert">
          {error}
        </p>
      ) : null}
      {valid && !shown ? (
        <p className="field__hint">
          <span className="spinner spinner--small" /> Checking {name}…
        </p>
      ) : null}
      {shown && !shown.ok ? <p className="field__error">{shown.message}</p> : null}
      {shown?.ok ? (
        <BridgeReadiness
          check={shown.value}
          onAgain={() => {
            setCheck(null);
            setRound((r) => r + 1);
          }}
        />
      ) : null}
    </div>
  );
}

function BridgeReadiness({ check, onAgain }: { check: BridgeCheck; onAgain: () => void }) {
  if (check.ok) {
    return (
      <p className="bridge-ok" data-testid="bridge-ready">
        <span className="chip chip--good">
          <span className="chip__dot" />
          Ready
        </span>
        {check.bridge} exists and QEMU’s bridge helper may use it.
      </p>
    );
  }
  return (
    <div className="callout callout--block bridge-check" data-testid="bridge-not-ready">
      <p>
        <strong>{check.bridge} is not ready for bridged cards:</strong>
      </p>
      <ul>
        {check.problems.map((p) => (
          <li key={p.what}>{p.what}</li>
        ))}
      </ul>
      {check.commands.length > 0 ? (
        <>
          <p>Run these once as root, then check again:</p>
          <div className="bridge-check__cmds">
            {check.commands.map((c) => (
              <CopyCommand key={c} text={c} label="Root command" />
            ))}
          </div>
        </>
      ) : null}
      <button
        type="button"
        className="btn btn--compact bridge-check__again"
        data-testid="bridge-check-again"
        onClick={onAgain}
      >
        <Icon name="refresh" size={13} />
        Check again
      </button>
    </div>
  );
}

import { useCallback, useEffect, useState } from 'react';
import type { HostUsbDevice, UsbAttachment, UsbHostList } from '../../../../../common/contract';
import { USB_MAX } from '../../../../../common/rules/usb';
import { savedRefusalMessage } from '../../../../../common/rules/vm-settings';
import { isGuestUp, isLive, isSaved } from '../../../../../common/vm-state';
import { attachUsb, detachUsb, loadHostUsb, loadVmUsb } from '../../../actions/removable';
import { CopyCommand } from '../../../components/CopyCommand';
import { Icon } from '../../../components/Icon';
import type { HardwarePanelProps } from './panel-props';
import './media.css';

/**
 * The VM's USB devices (the host's, and drives made from image files) with Detach, and an attach
 * form: the host's devices with whether this user may open them (and the udev rule when not), and
 * an image file as a USB drive. Live while the VM runs; kept for its next start.
 */
export default function UsbPanel({ vm, active, adding, onAddDone }: HardwarePanelProps) {
  const [attached, setAttached] = useState<UsbAttachment[] | null>(null);
  const [host, setHost] = useState<UsbHostList | null>(null);
  const [choosingHere, setChoosing] = useState(false);
  // "Add hardware" opens the picker too, until it closes.
  const choosing = choosingHere || adding;
  const closePicker = (): void => {
    setChoosing(false);
    if (adding) onAddDone();
  };
  const [file, setFile] = useState('');
  const [readOnly, setReadOnly] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const state = vm.runtime.state;
  const live = isGuestUp(state);
  const locked = isSaved(state)
    ? savedRefusalMessage('media')
    : isLive(state) && !live
      ? `“${vm.config.name}” is ${state}: USB devices change once it runs or is stopped.`
      : null;
  const full = vm.config.usb.length >= USB_MAX;

  const refresh = useCallback(async () => {
    const r = await loadVmUsb(vm.id);
    if (r.ok) setAttached(r.value);
    else setError(r.message);
  }, [vm.id]);

  // The config arrives with the VM's events; what is live is asked again when it changes.
  useEffect(() => {
    if (!active) return;
    let current = true;
    void loadVmUsb(vm.id).then((r) => {
      if (!current) return;
      if (r.ok) setAttached(r.value);
      else setError(r.message);
    });
    return () => {
      current = false;
    };
  }, [active, vm.id, state, vm.config.usb]);
  useEffect(() => {
    if (!choosing) return;
    void loadHostUsb().then((r) => (r.ok ? setHost(r.value) : setError(r.message)));
  }, [choosing]);

  const who = { id: vm.id, name: vm.config.name };

  async function attach(key: string, device: Parameters<typeof attachUsb>[1]): Promise<void> {
    setBusy(key);
    setError(null);
    const r = await attachUsb(who, device);
    setBusy(null);
    if (!r.ok) return setError(r.message);
    closePicker();
    setFile('');
    void refresh();
  }

  async function detach(id: string): Promise<void> {
    setBusy(id);
    setError(null);
    const r = await detachUsb(who, id);
    setBusy(null);
    if (!r.ok) return setError(r.message);
    void refresh();
  }

  return (
    <div className="media-panel" data-testid="usb-panel">
      <header className="media-panel__head">
        <h2>USB devices</h2>
        <p className="muted">
          {live
            ? 'The guest runs: devices attach and detach in it at once, and stay for its next start.'
            : 'Attached when the VM starts. While it runs, they attach and detach at once.'}
        </p>
      </header>

      {locked ? (
        <p className="callout callout--info" data-testid="usb-locked">
          <Icon name="lock" size={15} />
          <span>{locked}</span>
        </p>
      ) : null}
      {error ? (
        <p className="callout callout--error" role="alert" data-testid="usb-error">
          <Icon name="alert" size={15} />
          <span>{error}</span>
        </p>
      ) : null}

      <section className="card" aria-label="Attached USB devices">
        {vm.config.usb.length === 0 ? (
          <p className="muted">
            No USB devices{vm.config.usbTablet ? ' besides the tablet (the mouse)' : ''}.
          </p>
        ) : (
          <ul className="usb-list" data-testid="usb-attached">
            {(attached ?? []).map((a) => (
              <li key={a.config.id} className="usb-row" data-testid={`usb-row-${a.config.id}`}>
                <Icon name={a.config.kind === 'drive' ? 'disk' : 'plug'} size={18} />
                <span className="usb-row__text">
                  <strong>{a.label}</strong>
                  <span className="muted mono">
                    {a.config.kind === 'drive' ? a.config.file : a.config.id}
                  </span>
                </span>
                <span className="usb-row__chips">
                  {a.live === true ? <span className="chip chip--good">In the guest</span> : null}
                  {a.live === false ? <span className="chip">Not in the guest</span> : null}
                  {a.unplugged ? <span className="chip">Not plugged in</span> : null}
                </span>
                <button
                  type="button"
                  className={`btn btn--secondary btn--small${busy === a.config.id ? ' btn--busy' : ''}`}
                  data-testid={`usb-detach-${a.config.id}`}
                  disabled={locked !== null || busy !== null}
                  onClick={() => void detach(a.config.id)}
                >
                  Detach
                </button>
              </li>
            ))}
          </ul>
        )}
        <div className="card__actions">
          <button
            type="button"
            className="btn btn--primary"
            data-testid="usb-choose"
            disabled={locked !== null || busy !== null || full}
            title={full ? `At most ${USB_MAX} USB devices` : undefined}
            onClick={() => (choosing ? closePicker() : setChoosing(true))}
          >
            <Icon name="plus" size={15} />
            Attach a USB device…
          </button>
        </div>
      </section>

      {choosing && locked === null ? (
        <section
          className="card media-choose"
          aria-label="Attach a USB device"
          data-testid="usb-picker"
        >
          <h3>From this computer</h3>
          {host === null ? (
            <div className="vm-loading" aria-busy="true">
              <span className="spinner" /> Looking at the USB buses…
            </div>
          ) : host.devices.length === 0 ? (
            <p className="muted" data-testid="usb-host-empty">
              {host.message}
            </p>
          ) : (
            <ul className="usb-list">
              {host.devices.map((d) => (
                <HostDeviceRow
                  key={d.place}
                  device={d}
                  busy={busy}
                  onAttach={() => void attach(d.place, { kind: 'host', device: d.place })}
                />
              ))}
            </ul>
          )}
          <h3>A USB drive from an image file</h3>
          <form
            className="media-choose__path"
            onSubmit={(e) => {
              e.preventDefault();
              if (file.trim()) {
                void attach('drive', { kind: 'drive', file: file.trim(), readOnly });
              }
            }}
          >
            <label className="field">
              <span className="field__label">Image (raw or qcow2)</span>
              <input
                className="mono"
                data-testid="usb-drive-path"
                placeholder="/path/to/stick.img"
                value={file}
                onChange={(e) => setFile(e.target.value)}
              />
            </label>
            <label className="check">
              <input
                type="checkbox"
                checked={readOnly}
                onChange={(e) => setReadOnly(e.target.checked)}
              />
              Read-only
            </label>
            <button
              type="submit"
              className={`btn btn--primary${busy === 'drive' ? ' btn--busy' : ''}`}
              data-testid="usb-drive-attach"
              disabled={busy !== null || file.trim() === ''}
            >
              Attach
            </button>
          </form>
          <div className="media-choose__foot">
            <button type="button" className="btn btn--ghost" onClick={closePicker}>
              Close
            </button>
          </div>
        </section>
      ) : null}
    </div>
  );
}

function HostDeviceRow({
  device: d,
  busy,
  onAttach,
}: {
  device: HostUsbDevice;
  busy: string | null;
  onAttach: () => void;
}) {
  return (
    <li className="usb-row usb-row--host">
      <Icon name="plug" size={18} />
      <span className="usb-row__text">
        <strong>{d.label}</strong>
        <span className="muted mono">
          {d.place} · {d.path}
          {d.speedMbps ? ` · ${d.speedMbps} Mb/s` : ''}
        </span>
        {d.access !== 'ok' && d.fix ? (
          <span className="usb-row__fix">
            <span>
              {d.access === 'missing'
                ? `No device node ${d.path} here (a container?).`
                : 'You may not open it. A udev rule gives your user access:'}
            </span>
            <CopyCommand text={d.fix.commands.join('\n')} label="Copy the commands" />
            <span className="muted">{d.fix.note}</span>
          </span>
        ) : null}
      </span>
      <span className="usb-row__chips">
        {d.access === 'ok' ? <span className="chip chip--good">You may open it</span> : null}
      </span>
      <button
        type="button"
        className={`btn btn--secondary btn--small${busy === d.place ? ' btn--busy' : ''}`}
        disabled={busy !== null}
        onClick={onAttach}
      >
        Attach
      </button>
    </li>
  );
}

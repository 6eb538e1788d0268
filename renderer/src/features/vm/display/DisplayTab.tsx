import RFB from '@novnc/novnc';
import { useEffect, useRef, useState } from 'react';
import { notify } from '../../../actions/notifications';
import { downloadScreenshot, sendKeys } from '../../../actions/vm';
import { FULLSCREEN_EVENT } from '../../../lib/fullscreen-event';
import { useReconnectingStream, type StreamConn } from '../../../hooks/use-reconnecting-stream';
import { isBoolean, readStored, writeStored } from '../../../lib/storage';
import { isGuestUp } from '../../../../../common/vm-state';
import { Icon } from '../../../components/Icon';
import type { TabProps } from '../tab-props';
import { NotRunning } from './NotRunning';
import { ClipboardDrawer } from './ClipboardDrawer';
import { PasteDialog } from './PasteDialog';
import { SendKeysMenu } from './SendKeysMenu';

type ScaleMode = 'fit' | 'native';
const isScale = (v: unknown): v is ScaleMode => v === 'fit' || v === 'native';

/**
 * The VM's screen: noVNC over the engine's token-guarded stream bridge. A fresh ticket for every
 * (re)connect; scaled to the space it has unless the user asks for 1:1.
 */
export default function DisplayTab({ vm, active }: TabProps) {
  const state = vm.runtime.state;
  const live = isGuestUp(state);
  const screenRef = useRef<HTMLDivElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  const rfbRef = useRef<RFB | null>(null);
  const [scale, setScale] = useState<ScaleMode>(() =>
    readStored('vivarium.display.scale', 'fit', isScale),
  );
  const [viewOnly, setViewOnly] = useState(() =>
    readStored('vivarium.display.viewOnly', false, isBoolean),
  );
  const [grabbed, setGrabbed] = useState(false);
  const [fullscreen, setFullscreen] = useState(false);
  const [size, setSize] = useState<{ w: number; h: number; shown: number } | null>(null);
  const [pasting, setPasting] = useState(false);
  // Clipboard sharing (QEMU's vdagent): the guest's last copy, and whether the page took it too.
  const [clipOpen, setClipOpen] = useState(false);
  const [fromGuest, setFromGuest] = useState<string | null>(null);
  const [copiedToPage, setCopiedToPage] = useState(false);
  const settings = useRef({ scale, viewOnly });
  useEffect(() => {
    settings.current = { scale, viewOnly };
  }, [scale, viewOnly]);

  // Connect while QEMU runs; reconnect with a new ticket whenever the socket drops.
  const conn = useReconnectingStream({
    vmId: vm.id,
    kind: 'vnc',
    enabled: live,
    open: (url, events) => {
      const target = screenRef.current;
      if (!target) return { close: () => undefined };
      const r = new RFB(target, url, { shared: true });
      rfbRef.current = r;
      r.scaleViewport = settings.current.scale === 'fit';
      r.clipViewport = false;
      r.resizeSession = false;
      r.viewOnly = settings.current.viewOnly;
      r.focusOnClick = true;
      r.background = 'transparent';
      r.qualityLevel = 8;
      r.compressionLevel = 2;
      r.addEventListener('connect', () => void events.opened());
      // QEMU's VNC server hands the guest's clipboard over (extended clipboard) when the VM
      // has clipboard sharing on and the guest runs spice-vdagent.
      r.addEventListener('clipboard', (e) => {
        const text = e.detail.text;
        setFromGuest(text);
        // Browsers let a focused page write the clipboard unasked; elsewhere the drawer shows it.
        navigator.clipboard.writeText(text).then(
          () => setCopiedToPage(true),
          () => {
            setCopiedToPage(false);
            setClipOpen(true);
          },
        );
      });
      r.addEventListener('disconnect', () => {
        if (rfbRef.current === r) rfbRef.current = null;
        setGrabbed(false);
        events.ended();
      });
      return { close: () => r.disconnect() };
    },
  });
  // A new VM, or QEMU gone: the old screen and its size go with the session.
  useEffect(
    () => () => {
      rfbRef.current = null;
      setSize(null);
    },
    [vm.id, live],
  );

  useEffect(() => {
    writeStored('vivarium.display.scale', scale);
    const r = rfbRef.current;
    if (r) r.scaleViewport = scale === 'fit';
  }, [scale, conn]);

  useEffect(() => {
    writeStored('vivarium.display.viewOnly', viewOnly);
    const r = rfbRef.current;
    if (r) r.viewOnly = viewOnly;
  }, [viewOnly, conn]);

  // The guest's resolution and how large it is drawn.
  useEffect(() => {
    const el = screenRef.current;
    if (!el) return;
    const measure = () => {
      const canvas = el.querySelector('canvas');
      if (!canvas || canvas.width === 0) {
        setSize(null);
        return;
      }
      const shown = canvas.clientWidth / canvas.width;
      setSize((s) =>
        s && s.w === canvas.width && s.h === canvas.height && Math.abs(s.shown - shown) < 0.005
          ? s
          : { w: canvas.width, h: canvas.height, shown },
      );
    };
    const mo = new MutationObserver(measure);
    mo.observe(el, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['width', 'height', 'style'],
    });
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => {
      mo.disconnect();
      ro.disconnect();
    };
  }, []);

  // Keyboard grab: the canvas has the focus, so keys go to the guest.
  useEffect(() => {
    const el = screenRef.current;
    if (!el) return;
    const update = () =>
      setGrabbed(
        document.activeElement?.tagName === 'CANVAS' && el.contains(document.activeElement),
      );
    el.addEventListener('focusin', update);
    el.addEventListener('focusout', update);
    return () => {
      el.removeEventListener('focusin', update);
      el.removeEventListener('focusout', update);
    };
  }, []);

  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement === panelRef.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  const toggleFullscreen = () => {
    const panel = panelRef.current;
    if (!panel) return;
    if (document.fullscreenElement) {
      void document.exitFullscreen();
      return;
    }
    panel.requestFullscreen().then(
      () => rfbRef.current?.focus(),
      (err: unknown) =>
        notify({
          kind: 'warning',
          title: 'Full screen is not available',
          message: `${err instanceof Error ? err.message : String(err)} Use the browser’s own full screen (F11) instead.`,
        }),
    );
  };
  const toggleRef = useRef(toggleFullscreen);
  useEffect(() => {
    toggleRef.current = toggleFullscreen;
  });
  useEffect(() => {
    if (!active) return;
    const on = () => toggleRef.current();
    window.addEventListener(FULLSCREEN_EVENT, on);
    return () => window.removeEventListener(FULLSCREEN_EVENT, on);
  }, [active]);

  const connected = conn.kind === 'connected';
  const inputOff = !live || viewOnly;

  const ctrlAltDel = () => {
    const r = rfbRef.current;
    if (r && connected) {
      r.sendCtrlAltDel();
      r.focus();
    } else {
      void sendKeys(vm.id, ['ctrl', 'alt', 'delete']);
    }
  };

  return (
    <div
      className={`display${fullscreen ? ' display--fullscreen' : ''}`}
      ref={panelRef}
      data-testid="display"
    >
      <div className="display-toolbar" role="toolbar" aria-label="Display">
        <div className="display-toolbar__group">
          <button
            type="button"
            className="btn btn--compact"
            onClick={ctrlAltDel}
            disabled={inputOff}
            title={viewOnly ? 'View only: input is off' : 'Send Ctrl+Alt+Del to the guest'}
          >
            <Icon name="keyboard" size={15} />
            Ctrl+Alt+Del
          </button>
          <SendKeysMenu disabled={inputOff} onSend={(keys) => void sendKeys(vm.id, keys)} />
          <button
            type="button"
            className="btn btn--compact"
            onClick={() => setPasting(true)}
            disabled={inputOff || !connected}
            title="Type text into the guest as key presses"
          >
            <Icon name="type" size={15} />
            Paste text
          </button>
          {vm.config.clipboard ? (
            <button
              type="button"
              className={`btn btn--compact${clipOpen ? ' is-on' : ''}`}
              aria-pressed={clipOpen}
              data-testid="clipboard-toggle"
              onClick={() => setClipOpen((o) => !o)}
              disabled={!connected}
              title="The clipboard shared with the guest (spice-vdagent)"
            >
              <Icon name="clipboard" size={15} />
              Clipboard
            </button>
          ) : null}
          <button
            type="button"
            className="btn btn--compact"
            onClick={() => void downloadScreenshot(vm.id)}
            disabled={!live}
            title="Save the screen as a PNG file"
          >
            <Icon name="camera" size={15} />
            Screenshot
          </button>
        </div>

        <div className="display-toolbar__group display-toolbar__status">
          <ConnChip conn={conn} live={live} />
          {connected && size ? (
            <span className="display-size" data-testid="display-size">
              {size.w}×{size.h} · {Math.round(size.shown * 100)}%
            </span>
          ) : null}
        </div>

        <div className="display-toolbar__group">
          {live && connected ? (
            viewOnly ? (
              <span className="grab grab--off" title="Keys and the mouse do not reach the guest">
                <Icon name="eyeOff" size={14} /> View only
              </span>
            ) : grabbed ? (
              <span
                className="grab grab--on"
                data-testid="keyboard-grab"
                title="Click outside the screen to release the keyboard"
              >
                <Icon name="lock" size={14} /> Keyboard captured
              </span>
            ) : (
              <span
                className="grab"
                data-testid="keyboard-free"
                title="Click the screen to type into the guest"
              >
                <Icon name="keyboard" size={14} /> Click the screen to type
              </span>
            )
          ) : null}
          <div className="segmented segmented--small" role="group" aria-label="Scale">
            <button
              type="button"
              aria-pressed={scale === 'fit'}
              className={scale === 'fit' ? 'is-on' : undefined}
              onClick={() => setScale('fit')}
              title="Scale the screen to fit the window"
            >
              Fit
            </button>
            <button
              type="button"
              aria-pressed={scale === 'native'}
              className={scale === 'native' ? 'is-on' : undefined}
              onClick={() => setScale('native')}
              title="Show the screen pixel for pixel (scrolls when larger)"
            >
              1:1
            </button>
          </div>
          <button
            type="button"
            className={`icon-btn icon-btn--bordered${viewOnly ? ' is-on' : ''}`}
            aria-pressed={viewOnly}
            aria-label="View only"
            title={
              viewOnly
                ? 'View only is on: click to send input again'
                : 'View only: watch without sending keys or clicks'
            }
            onClick={() => setViewOnly((v) => !v)}
          >
            <Icon name={viewOnly ? 'eyeOff' : 'eye'} size={16} />
          </button>
          <button
            type="button"
            className="icon-btn icon-btn--bordered"
            aria-label={fullscreen ? 'Leave full screen' : 'Full screen'}
            title={fullscreen ? 'Leave full screen (Esc)' : 'Full screen (F)'}
            onClick={toggleFullscreen}
          >
            <Icon name={fullscreen ? 'exitFullscreen' : 'fullscreen'} size={16} />
          </button>
        </div>
      </div>

      {clipOpen && vm.config.clipboard && connected ? (
        <ClipboardDrawer
          rfb={rfbRef}
          fromGuest={fromGuest}
          copiedToPage={copiedToPage}
          onClose={() => {
            setClipOpen(false);
            rfbRef.current?.focus();
          }}
        />
      ) : null}

      <div className={`display-stage display-stage--${scale}`}>
        <div
          ref={screenRef}
          className={`display-screen${connected ? ' is-connected' : ''}`}
          data-testid="display-screen"
          hidden={!live}
        />
        {!live ? <NotRunning vmId={vm.id} state={state} /> : null}
        {live && !connected ? (
          <div className="display-overlay" role="status">
            <span className="spinner" />
            {conn.kind === 'reconnecting'
              ? `Reconnecting to the display (attempt ${conn.attempt})…`
              : 'Connecting to the display…'}
          </div>
        ) : null}
      </div>

      {pasting ? (
        <PasteDialog
          onClose={() => {
            setPasting(false);
            rfbRef.current?.focus();
          }}
          rfb={rfbRef}
        />
      ) : null}
    </div>
  );
}

function ConnChip({ conn, live }: { conn: StreamConn; live: boolean }) {
  if (!live) return null;
  const [cls, text] =
    conn.kind === 'connected'
      ? ['good', 'Connected']
      : conn.kind === 'reconnecting'
        ? ['busy', 'Reconnecting…']
        : ['busy', 'Connecting…'];
  return (
    <span className={`chip chip--${cls}`} data-testid="display-conn" data-state={conn.kind}>
      <span className="chip__dot" />
      {text}
    </span>
  );
}

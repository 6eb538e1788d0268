import { dismissHostNotice } from '../actions/ui';
import { useHostStore } from '../stores/host';
import { useUiStore } from '../stores/ui';
import { Icon } from './Icon';

/** QEMU missing (not dismissible), lost connection, and the engine's host notices. */
export function HostBanners() {
  const qemuMissing = useHostStore((s) => s.info?.qemuMissing ?? null);
  const notices = useHostStore((s) => s.notices);
  const connection = useHostStore((s) => s.connection);
  const dismissed = useUiStore((s) => s.dismissedNotices);
  const visible = notices.filter((n) => !dismissed.includes(n));

  if (!qemuMissing && visible.length === 0 && connection !== 'reconnecting') return null;
  return (
    <div className="banners">
      {qemuMissing ? (
        <div className="banner banner--error" role="alert">
          <Icon name="alert" size={18} />
          <div className="banner__text">
            <strong>QEMU is not available.</strong> {qemuMissing}
          </div>
        </div>
      ) : null}
      {connection === 'reconnecting' ? (
        <div className="banner banner--error" role="status">
          <Icon name="plug" size={18} />
          <div className="banner__text">
            <strong>Connection lost.</strong> Trying to reach Vivarium again; the list will refresh
            when it is back.
          </div>
        </div>
      ) : null}
      {visible.map((notice) => (
        <div
          className="banner banner--warning"
          role="status"
          key={notice}
          data-testid="host-notice"
        >
          <Icon name="info" size={18} />
          <div className="banner__text">{notice}</div>
          <button
            type="button"
            className="icon-btn"
            aria-label="Dismiss notice"
            title="Dismiss"
            onClick={() => dismissHostNotice(notice)}
          >
            <Icon name="close" size={16} />
          </button>
        </div>
      ))}
    </div>
  );
}

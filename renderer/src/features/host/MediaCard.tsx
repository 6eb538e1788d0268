import { ARCH_LABELS } from '../../../../common/arch';
import type { ReactNode } from 'react';
import type { CachedMedia, PartialDownload } from '../../../../common/contract';
import { discardPartial, loadMedia, resumePartial } from '../../actions/media';
import { openDialog } from '../../actions/ui';
import { Icon } from '../../components/Icon';
import { useNow } from '../../hooks/use-now';
import { formatBytes, osLabel, plural, timeAgo } from '../../../../common/format';
import { isUploaded } from '../../../../common/media-names';
import { formatHash } from '../../lib/route';
import { useLibraryStore } from '../../stores/library';
import { useMediaStore } from '../../stores/media';
import { useTasksStore } from '../../stores/tasks';
import { OsLogo } from '../wizard/OsLogo';
import { Card } from './parts';

const VERIFIED: Record<CachedMedia['verified'], { tone: string; label: string; title: string }> = {
  published: {
    tone: 'good',
    label: 'Verified',
    title: 'Its SHA-256 matches the one its publisher lists',
  },
  user: {
    tone: 'busy',
    label: 'Matches your SHA-256',
    title: 'Its SHA-256 matches the one you gave',
  },
  none: {
    tone: 'neutral',
    label: 'Not verified',
    title: 'There was no published checksum to check it against',
  },
};

const UPLOADED = {
  tone: 'neutral',
  label: 'Uploaded',
  title: 'Uploaded from a browser: only the copy here exists, nothing to download it again from',
};

/** The install-media cache: images with the VMs that hold them, and unfinished downloads. */
export function MediaCard() {
  const cached = useMediaStore((s) => s.cached);
  const partials = useMediaStore((s) => s.partials);
  const total =
    cached.status === 'ready' && cached.value.length > 0
      ? `${plural(cached.value.length, 'image')} · ${formatBytes(
          cached.value.reduce((n, m) => n + m.bytes, 0),
        )}`
      : null;
  // Relative times ("3 min ago") stay current while the view is open.
  const now = useNow(30_000, true);

  return (
    <Card
      title="Install media"
      icon="disk"
      className="host__media"
      testId="host-media"
      aside={total ? <span data-testid="media-total">{total}</span> : null}
    >
      <p className="host__intro">
        Installer images downloaded by the New VM wizard (or uploaded from a browser), checked
        against their SHA-256 and kept, so the next VM starts without downloading them again.
      </p>

      {cached.status === 'ready' ? (
        cached.value.length === 0 ? (
          <div className="host-empty" data-testid="media-empty">
            <Icon name="disk" size={22} />
            <div>
              <strong>No install media yet</strong>
              <p className="muted">
                Images appear here once the New VM wizard has downloaded them.
              </p>
            </div>
          </div>
        ) : (
          <ul className="media-list" aria-label="Cached images">
            {cached.value.map((m) => (
              <MediaRow key={m.sha256} media={m} now={now} />
            ))}
          </ul>
        )
      ) : cached.status === 'error' ? (
        <LoadError message={cached.message} />
      ) : (
        <p className="host-loading" aria-busy="true">
          <span className="spinner spinner--small" /> Reading the media cache…
        </p>
      )}

      <h3 className="host__subtitle">Unfinished downloads</h3>
      {partials.status === 'ready' ? (
        partials.value.length === 0 ? (
          <div className="host-empty host-empty--small" data-testid="partials-empty">
            <Icon name="download" size={18} />
            <p className="muted">
              None. A download that stops before its end (cancelled, cut off, the app closed) waits
              here to be resumed.
            </p>
          </div>
        ) : (
          <ul className="media-list" aria-label="Unfinished downloads">
            {partials.value.map((p) => (
              <PartialRow key={p.key} partial={p} now={now} />
            ))}
          </ul>
        )
      ) : partials.status === 'error' ? (
        <LoadError message={partials.message} />
      ) : null}
    </Card>
  );
}

function LoadError({ message }: { message: string }) {
  return (
    <div className="callout callout--error">
      <Icon name="alert" size={15} />
      <span>{message}</span>
      <button type="button" className="btn btn--compact" onClick={() => void loadMedia()}>
        Try again
      </button>
    </div>
  );
}

function MediaRow({ media, now }: { media: CachedMedia; now: number }) {
  const os = useMediaStore((s) => (media.os ? s.os[media.os] : undefined));
  const vms = useLibraryStore((s) => s.vms);
  const version = os && media.version ? os.versions[media.version] : undefined;
  const mediaLabel = version && media.mediaId ? version.media[media.mediaId] : undefined;
  const title =
    version?.name ?? os?.name ?? media.osName ?? (media.os ? osLabel(media.os) : media.filename);
  // An upload has no published checksum to be checked against: it says where it came from.
  const verified =
    isUploaded(media) && media.verified === 'none' ? UPLOADED : VERIFIED[media.verified];
  return (
    <li className="media-row" data-testid="media-row" data-sha256={media.sha256}>
      <OsLogo
        logo={os?.logo ?? 'generic'}
        family={os?.family ?? 'other'}
        size={40}
        className="media-row__logo"
      />
      <div className="media-row__main">
        <div className="media-row__title">
          <strong title={media.file}>{title}</strong>
          {mediaLabel ? <span className="muted">{mediaLabel}</span> : null}
          <span className={`chip chip--${verified.tone}`} title={verified.title}>
            {media.verified === 'none' ? null : <Icon name="shield" size={12} />}
            {verified.label}
          </span>
        </div>
        <Meta>
          {/* Unknown to the catalogue, the file name is already the title. */}
          {title === media.filename ? null : (
            <span>
              <code className="path" title={media.file}>
                {media.filename}
              </code>
            </span>
          )}
          <span>{formatBytes(media.bytes)}</span>
          {media.arch ? (
            <span data-testid="media-arch" title="The architecture it boots on">
              {ARCH_LABELS[media.arch]}
            </span>
          ) : null}
          <span title={media.url || undefined}>{sourceOf(media.url)}</span>
          <span title={new Date(media.addedAt).toLocaleString()}>
            added {whenAdded(media.addedAt, now)}
          </span>
        </Meta>
        {media.usedBy.length > 0 ? (
          <ul className="media-row__used" aria-label="Used by">
            {media.usedBy.map((u) => {
              const vm = vms.find((v) => v.id === u.id);
              return (
                <li key={u.id}>
                  <a
                    className="chip chip--link"
                    href={formatHash({ view: 'vm', vmId: u.id, tab: 'overview' })}
                    data-testid="media-used-by"
                  >
                    <Icon name="disk" size={12} />
                    In the CD-ROM of {vm?.name ?? u.name}
                  </a>
                </li>
              );
            })}
          </ul>
        ) : null}
      </div>
      <div className="media-row__actions">
        <button
          type="button"
          className="btn btn--compact btn--danger"
          onClick={() => openDialog({ type: 'deleteMedia', sha256: media.sha256 })}
          aria-label={`Delete ${media.filename}`}
        >
          <Icon name="trash" size={14} />
          Delete
        </button>
      </div>
    </li>
  );
}

function PartialRow({ partial: p, now }: { partial: PartialDownload; now: number }) {
  const taskId = useMediaStore((s) => s.resuming[p.key]);
  const task = useTasksStore((s) => (taskId ? s.tasks[taskId] : undefined));
  const discarding = useMediaStore((s) => s.discarding.includes(p.key));
  const active = task?.state === 'running';
  const done = active ? (task.bytesDone ?? p.bytes) : p.bytes;
  const total = active ? (task.bytesTotal ?? p.total) : p.total;
  const pct = total ? Math.min(100, Math.floor((done / total) * 100)) : null;
  return (
    <li className="media-row" data-testid="partial-row" data-key={p.key}>
      <span className="media-row__logo media-row__logo--icon" aria-hidden="true">
        <Icon name="download" size={20} />
      </span>
      <div className="media-row__main">
        <div className="media-row__title">
          <strong>{p.filename}</strong>
          {active ? (
            <span className="chip chip--busy">
              <span className="chip__dot" />
              Downloading
            </span>
          ) : null}
        </div>
        <Meta>
          <span title={p.url}>{sourceOf(p.url)}</span>
          <span title={new Date(p.modifiedAt).toLocaleString()}>
            {active ? 'resumed' : `stopped ${timeAgo(p.modifiedAt, now) || p.modifiedAt}`}
          </span>
          <span>{p.sha256 ? 'SHA-256 known: verified at the end' : 'no checksum to verify'}</span>
        </Meta>
        <div className="partial-row__progress">
          <div
            className={`progress${pct === null ? ' progress--unknown' : ''}`}
            role="progressbar"
            aria-label={`${p.filename} downloaded`}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={pct ?? undefined}
          >
            <span style={{ width: pct === null ? '100%' : `${pct}%` }} />
          </div>
          <span className="partial-row__bytes" data-testid="partial-bytes">
            {total
              ? `${formatBytes(done)} of ${formatBytes(total)} · ${pct}%`
              : `${formatBytes(done)} so far`}
          </span>
        </div>
      </div>
      <div className="media-row__actions">
        <button
          type="button"
          className="btn btn--compact btn--primary"
          disabled={active || discarding}
          onClick={() => void resumePartial(p)}
          aria-label={`Resume ${p.filename}`}
        >
          <Icon name="download" size={14} />
          Resume
        </button>
        <button
          type="button"
          className="btn btn--compact"
          disabled={active || discarding}
          onClick={() => void discardPartial(p.key)}
          aria-label={`Discard ${p.filename}`}
          title={`Delete the ${formatBytes(p.bytes)} downloaded so far`}
        >
          <Icon name="trash" size={14} />
          Discard
        </button>
      </div>
    </li>
  );
}

/**
 * A row's details separated by "·". Each item draws its separator before itself and the list
 * starts one separator's width to the left of the clipping paragraph, so the separator of a
 * line's first item (the first one, or one that wrapped) is cut off: no line starts with "·".
 */
function Meta({ children }: { children: ReactNode }) {
  return (
    <p className="media-row__meta">
      <span className="media-row__facts">{children}</span>
    </p>
  );
}

/** "just now", "3 h ago"; a date once it is older than two days. */
function whenAdded(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  if (now - t < 48 * 3600_000) return timeAgo(iso, now);
  return `on ${new Date(t).toLocaleDateString(undefined, { dateStyle: 'medium' })}`;
}

/** Where an image came from, for people: the server's name. */
function sourceOf(url: string): string {
  if (!url) return 'uploaded from a browser';
  try {
    return `from ${new URL(url).host}`;
  } catch {
    return url;
  }
}

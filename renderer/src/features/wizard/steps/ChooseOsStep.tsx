import { useEffect, useRef, useState } from 'react';
import type { CatalogSummary } from '../../../../../common/contract';
import {
  searchCatalog,
  selectOs,
  selectVersion,
  setFamily,
  setQuery,
  setShowOsinfo,
} from '../../../actions/wizard/os';
import { setSource } from '../../../actions/wizard/source';
import { Icon } from '../../../components/Icon';
import { formatMemory, plural } from '../../../../../common/format';
import type { WizardSource } from '../../../stores/wizard';
import { FAMILY_CHIPS, GENERIC_ID, pickableVersions } from '../lib';
import { OsLogo } from '../OsLogo';
import { useWizard } from '../use-wizard';
import { IsoPicker } from './IsoPicker';

const SOURCES: ReadonlyArray<{ id: WizardSource; label: string; icon: 'grid' | 'disk' }> = [
  { id: 'catalog', label: 'Choose from the catalogue', icon: 'grid' },
  { id: 'iso', label: 'I have an ISO file', icon: 'disk' },
];

export function ChooseOsStep() {
  const { s } = useWizard();
  return (
    <div className="choose">
      <div className="segmented wsource" role="tablist" aria-label="Start from">
        {SOURCES.map((src) => (
          <button
            key={src.id}
            type="button"
            role="tab"
            aria-selected={s.source === src.id}
            className={s.source === src.id ? 'is-on' : undefined}
            onClick={() => setSource(src.id)}
          >
            <Icon name={src.icon} size={15} />
            {src.label}
          </button>
        ))}
      </div>
      {s.source === 'catalog' ? <CatalogPicker /> : <IsoPicker />}
    </div>
  );
}

/** "Debian 13 "trixie"" under "Debian" -> "13 "trixie""; a rolling release says so. */
function versionLabel(e: CatalogSummary): string | null {
  if (!e.latest) return null;
  const latest = e.latest;
  const status = e.versions.find((v) => v.id === latest.id)?.status;
  const name = latest.name;
  const rest = name.toLowerCase().startsWith(`${e.name.toLowerCase()} `)
    ? name.slice(e.name.length + 1)
    : name;
  if (status === 'rolling' && (rest.startsWith('(') || rest === name)) return 'Rolling';
  return rest.replace(/^\((.*)\)$/, '$1');
}

function CatalogPicker() {
  const { s } = useWizard();
  const first = useRef(true);
  // Typing searches after a short pause; the engine matches names, ids, aliases and versions.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const t = setTimeout(() => void searchCatalog(), 140);
    return () => clearTimeout(t);
  }, [s.query]);

  const searching = s.query.trim() !== '';
  const list = s.catalog.status === 'ready' ? s.catalog.value : [];
  const main = list.filter((e) => e.source !== 'osinfo' && e.id !== GENERIC_ID);
  const osinfo = list.filter((e) => e.source === 'osinfo');
  const generic = list.find((e) => e.id === GENERIC_ID);
  const showOsinfo = searching || s.showOsinfo;

  return (
    <div className="catalog">
      <div className="catalog__bar">
        <label className="search wsearch">
          <Icon name="search" size={16} />
          <input
            type="search"
            placeholder="Search operating systems…"
            aria-label="Search operating systems"
            value={s.query}
            autoFocus
            spellCheck={false}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape' && s.query) {
                e.preventDefault();
                setQuery('');
              }
            }}
          />
        </label>
        <div className="fchips" role="group" aria-label="Filter by family">
          {FAMILY_CHIPS.map((c) => (
            <button
              key={c.id}
              type="button"
              className={`fchip${s.family === c.id ? ' is-on' : ''}`}
              aria-pressed={s.family === c.id}
              onClick={() => setFamily(c.id)}
            >
              {c.label}
            </button>
          ))}
        </div>
      </div>

      {s.catalog.status === 'loading' || s.catalog.status === 'idle' ? (
        <ul className="os-grid" aria-busy="true" aria-label="Loading the catalogue">
          {Array.from({ length: 9 }, (_, i) => (
            <li key={i} className="os-card os-card--skeleton" />
          ))}
        </ul>
      ) : s.catalog.status === 'error' ? (
        <div className="callout callout--error">
          <Icon name="alert" size={15} />
          <span>
            The catalogue could not be loaded: {s.catalog.message}{' '}
            <button type="button" className="link-btn" onClick={() => void searchCatalog()}>
              Try again
            </button>
          </span>
        </div>
      ) : (
        <>
          {main.length === 0 && (!showOsinfo || osinfo.length === 0) ? (
            <div className="catalog__empty">
              <Icon name="search" size={22} />
              <p>
                Nothing matches{searching ? ` “${s.query.trim()}”` : ''}. Use{' '}
                <strong>Generic / other OS</strong> below, or start from an ISO file.
              </p>
            </div>
          ) : null}
          {main.length > 0 ? (
            <ul className="os-grid" aria-label="Operating systems">
              {main.map((e) => (
                <OsCard key={e.id} entry={e} selected={s.osId === e.id} />
              ))}
            </ul>
          ) : null}
          {osinfo.length > 0 ? (
            showOsinfo ? (
              <section className="catalog__more">
                <h4>
                  From this computer’s osinfo-db
                  <span className="muted"> · hardware facts, no downloads</span>
                </h4>
                <ul className="os-grid os-grid--compact" aria-label="More operating systems">
                  {osinfo.map((e) => (
                    <OsCard key={e.id} entry={e} selected={s.osId === e.id} compact />
                  ))}
                </ul>
              </section>
            ) : (
              <button
                type="button"
                className="btn btn--ghost catalog__show-more"
                onClick={() => setShowOsinfo(true)}
              >
                <Icon name="chevronDown" size={15} />
                Show {plural(osinfo.length, 'more OS', 'more OSes')} from osinfo-db
              </button>
            )
          ) : null}
          {generic ? (
            <section className="catalog__generic">
              <h4>Not in the list?</h4>
              <ul className="os-grid os-grid--single">
                <OsCard entry={generic} selected={s.osId === GENERIC_ID} />
              </ul>
            </section>
          ) : null}
        </>
      )}
      <SelectionBar />
    </div>
  );
}

function OsCard({
  entry: e,
  selected,
  compact = false,
}: {
  entry: CatalogSummary;
  selected: boolean;
  compact?: boolean;
}) {
  const ver = versionLabel(e);
  return (
    <li>
      <button
        type="button"
        className={`os-card${selected ? ' is-selected' : ''}${compact ? ' os-card--compact' : ''}`}
        aria-pressed={selected}
        data-os-id={e.id}
        onClick={() => void selectOs(e.id)}
        title={e.description}
      >
        <OsLogo logo={e.logo} family={e.family} size={compact ? 30 : 40} />
        <span className="os-card__text">
          <span className="os-card__name">{e.name}</span>
          {compact ? null : <span className="os-card__desc">{e.description}</span>}
          <span className="os-card__meta">
            {ver ? <span className="os-card__ver">{ver}</span> : null}
            {e.cloudReady ? (
              <span
                className="os-card__dl os-card__ready"
                title="A cloud image: ready to ssh into without an installer"
              >
                <Icon name="terminal" size={12} />
                Ready to use
              </span>
            ) : null}
            {e.downloadable ? (
              <span className="os-card__dl" title="Vivarium can download its installer">
                <Icon name="check" size={12} />
                Download
              </span>
            ) : e.id === GENERIC_ID ? (
              <span className="os-card__own">Any ISO</span>
            ) : (
              <span className="os-card__own">Your own ISO</span>
            )}
          </span>
        </span>
        {selected ? (
          <span className="os-card__check" aria-hidden="true">
            <Icon name="check" size={13} />
          </span>
        ) : null}
      </button>
    </li>
  );
}

/** The chosen OS, its version picker and what it needs, pinned under the grid. */
function SelectionBar() {
  const { s, d } = useWizard();
  const [open, setOpen] = useState(true);
  const loading = s.osId !== null && s.entries[s.osId]?.status === 'loading';
  if (!s.osId) return null;
  const entry = d.entry;
  if (!entry) {
    return (
      <div className="selection" aria-live="polite">
        {loading ? (
          <>
            <span className="spinner spinner--small" /> Loading…
          </>
        ) : null}
      </div>
    );
  }
  const versions = pickableVersions(entry);
  const legacy = entry.versions.filter((v) => v.status === 'legacy' && !versions.includes(v));
  const r = entry.resources.recommended;
  return (
    <div className="selection" aria-live="polite" data-testid="wizard-selection">
      <OsLogo logo={entry.logo} family={entry.family} size={36} />
      <div className="selection__id">
        <strong>{entry.name}</strong>
        <span className="muted">
          {entry.vendor}
          {entry.homepage ? (
            <>
              {' · '}
              <a href={entry.homepage} target="_blank" rel="noreferrer noopener">
                {new URL(entry.homepage).host}
              </a>
            </>
          ) : null}
        </span>
      </div>
      {entry.versions.length > 1 ? (
        <label className="selection__version">
          <span>Version</span>
          <select
            value={s.versionId ?? ''}
            aria-label="Version"
            onChange={(e) => void selectVersion(e.target.value)}
          >
            {versions.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name}
                {v.lts ? ' · LTS' : ''}
                {v.status === 'current' ? ' · latest' : ''}
              </option>
            ))}
            {legacy.length ? (
              <optgroup label="Older (no download)">
                {legacy.map((v) => (
                  <option key={v.id} value={v.id}>
                    {v.name}
                  </option>
                ))}
              </optgroup>
            ) : null}
          </select>
        </label>
      ) : d.version ? (
        <span className="chip">{d.version.name}</span>
      ) : null}
      <span className="selection__facts" title="What this OS recommends">
        <Icon name="memory" size={14} /> {formatMemory(r.memoryMiB)}
        <Icon name="cpu" size={14} /> {r.cpus}
        {r.diskGiB > 0 ? (
          <>
            <Icon name="disk" size={14} /> {r.diskGiB} GiB
          </>
        ) : null}
      </span>
      {entry.notes.length > 0 ? (
        <button
          type="button"
          className="icon-btn selection__toggle"
          aria-expanded={open}
          aria-label={open ? 'Hide the notes' : 'Show the notes'}
          onClick={() => setOpen(!open)}
        >
          <Icon name="info" size={16} />
        </button>
      ) : null}
      {open && entry.notes.length > 0 ? <p className="selection__note">{entry.notes[0]}</p> : null}
    </div>
  );
}

import { useId } from 'react';
import { setName } from '../../../actions/wizard/name';
import { nextStep } from '../../../actions/wizard/steps';
import { Icon } from '../../../components/Icon';
import { formatMemory, plural } from '../../../../../common/format';
import { nameProblem } from '../lib';
import { suggestedName } from '../model';
import { OsLogo } from '../OsLogo';
import { useWizard } from '../use-wizard';

export function NameStep() {
  const { s, d, taken } = useWizard();
  const id = useId();
  const problem = s.createError?.fields['name'] ?? nameProblem(s.name, taken);
  const suggestion = suggestedName(s, taken);
  const entry = d.entry;
  return (
    <div className="name-step">
      <div className={`field name-field${problem && s.name !== '' ? ' field--error' : ''}`}>
        <label htmlFor={id}>Name</label>
        <input
          id={id}
          value={s.name}
          autoFocus
          maxLength={120}
          spellCheck={false}
          autoComplete="off"
          aria-invalid={problem ? true : undefined}
          aria-describedby={`${id}-msg`}
          onChange={(e) => setName(e.target.value)}
          onFocus={(e) => e.target.select()}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !problem) {
              e.preventDefault();
              nextStep();
            }
          }}
        />
        {problem ? (
          <p className="field__error" id={`${id}-msg`} role="alert">
            {problem}
          </p>
        ) : (
          <p className="field__hint" id={`${id}-msg`}>
            {s.name.trim() === suggestion
              ? 'Suggested from the OS. Names are unique in the library; you can rename it later.'
              : 'Names are unique in the library; you can rename the VM later.'}
          </p>
        )}
        {s.name.trim() !== suggestion ? (
          <button
            type="button"
            className="link-btn name-suggest"
            onClick={() => setName(suggestion)}
          >
            Use “{suggestion}”
          </button>
        ) : null}
      </div>

      <div className="name-preview" aria-hidden="true">
        <p className="name-preview__label">In the library</p>
        <div className="name-card">
          {entry ? <OsLogo logo={entry.logo} family={entry.family} size={40} /> : null}
          <div className="name-card__text">
            <strong>{s.name.trim() || 'Untitled'}</strong>
            <span className="muted">{d.osName}</span>
          </div>
          <span className="badge badge--neutral">
            <span className="badge__dot" />
            stopped
          </span>
        </div>
        <p className="name-card__specs">
          <span>
            <Icon name="memory" size={13} /> {formatMemory(s.memoryMiB)}
          </span>
          <span>
            <Icon name="cpu" size={13} /> {plural(s.cpus, 'CPU')}
          </span>
          <span>
            <Icon name="disk" size={13} />{' '}
            {s.diskMode === 'new'
              ? `${s.diskGiB} GiB`
              : s.diskMode === 'none'
                ? 'No disk'
                : 'Own disk'}
          </span>
        </p>
      </div>
    </div>
  );
}

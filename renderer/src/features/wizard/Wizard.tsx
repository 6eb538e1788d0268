import { lazy, Suspense, useEffect, useLayoutEffect, useRef, type ReactNode } from 'react';
import { createFromWizard } from '../../actions/wizard/create';
import { showManualForm, startWizard } from '../../actions/wizard/open';
import { goToStep, nextStep, previousStep } from '../../actions/wizard/steps';
import { stopUpload } from '../../actions/wizard/upload';
import { Icon, Logo } from '../../components/Icon';
import { WIZARD_STEPS, useWizardStore, type WizardStep } from '../../stores/wizard';
import { ChooseOsStep } from './steps/ChooseOsStep';
import { MediaStep } from './steps/MediaStep';
import { NameStep } from './steps/NameStep';
import { ResourcesStep } from './steps/ResourcesStep';
import { SummaryStep } from './steps/SummaryStep';
import { useWizard } from './use-wizard';
import './wizard.css';

/** The plain form stays one click away: Linux kernel boot and everything by hand. */
const ManualVmDialog = lazy(() => import('./ManualVmDialog'));

const STEP_TEXT: Record<WizardStep, { label: string; title: string; hint: string }> = {
  os: { label: 'Operating system', title: 'What will this VM run?', hint: 'Catalogue or ISO' },
  media: { label: 'Install media', title: 'Install media', hint: 'Download or a file' },
  resources: { label: 'Resources', title: 'Memory, CPUs and disk', hint: 'Prefilled for the OS' },
  name: { label: 'Name', title: 'Name the VM', hint: 'Unique in the library' },
  summary: { label: 'Summary', title: 'Ready to create', hint: 'Check and create' },
};

/**
 * The New-VM wizard, in the `newVm` dialog slot: OS (catalogue or a local ISO,
 * detected), install media (download with progress, or a file), resources bounded by the host,
 * a unique name, and a summary with "Create and start" / "Customize first".
 */
export default function NewVmWizard({ onClose }: { onClose: () => void }) {
  const manual = useWizardStore((s) => s.manual);
  // Before the first paint, so a previous session's last step never flashes. Closing the wizard
  // ends an upload still running (the server drops what it received).
  useLayoutEffect(() => {
    startWizard();
    return stopUpload;
  }, []);
  if (manual) {
    return (
      <Suspense fallback={null}>
        <ManualVmDialog onClose={onClose} />
      </Suspense>
    );
  }
  return <WizardDialog onClose={onClose} />;
}

function WizardDialog({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const body = useRef<HTMLDivElement>(null);
  const { s, d } = useWizard();
  const index = WIZARD_STEPS.indexOf(s.step);
  const blocker = d.blockers[s.step];
  const text = STEP_TEXT[s.step];

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) {
      dialog.showModal();
      // showModal focuses the first button (the step rail): start in the page's first field.
      dialog.querySelector<HTMLElement>('.wizard__body input')?.focus();
    }
    return () => dialog?.close();
  }, []);
  // A new step starts at its top.
  useEffect(() => {
    body.current?.scrollTo({ top: 0 });
  }, [s.step]);

  const lead = stepLead(s.step, d.osName, s.source);

  return (
    <dialog
      ref={ref}
      className="wizard"
      aria-labelledby="wizard-title"
      aria-describedby="wizard-step-title"
      data-testid="wizard"
      data-step={s.step}
      onCancel={(e) => {
        e.preventDefault();
        if (!s.creating) onClose();
      }}
    >
      <div className="wizard__frame">
        <aside className="wizard__rail">
          <div className="wizard__brand">
            <Logo size={30} />
            <div>
              <h2 id="wizard-title">New virtual machine</h2>
              <p>Guided setup</p>
            </div>
          </div>
          <ol className="wsteps" aria-label="Steps">
            {WIZARD_STEPS.map((step, i) => {
              const state = i < index ? 'done' : i === index ? 'current' : 'todo';
              const reachable = WIZARD_STEPS.slice(0, i).every((p) => !d.blockers[p]);
              return (
                <li key={step} className={`wstep wstep--${state}`}>
                  <button
                    type="button"
                    disabled={!reachable || s.creating !== null}
                    aria-current={state === 'current' ? 'step' : undefined}
                    onClick={() => goToStep(step)}
                  >
                    <span className="wstep__dot" aria-hidden="true">
                      {state === 'done' ? <Icon name="check" size={14} /> : i + 1}
                    </span>
                    <span className="wstep__text">
                      <span className="wstep__label">{STEP_TEXT[step].label}</span>
                      <span className="wstep__caption">
                        {d.captions[step] ?? STEP_TEXT[step].hint}
                      </span>
                    </span>
                  </button>
                </li>
              );
            })}
          </ol>
          <div className="wizard__rail-foot">
            <button
              type="button"
              className="link-btn"
              onClick={() => showManualForm(true)}
              disabled={s.creating !== null}
            >
              <Icon name="terminal" size={14} />
              Boot a Linux kernel, or set up by hand
            </button>
          </div>
        </aside>

        <section className="wizard__main">
          <header className="wizard__head">
            <div>
              <p className="wizard__eyebrow">
                Step {index + 1} of {WIZARD_STEPS.length}
              </p>
              <h3 id="wizard-step-title">{text.title}</h3>
              {lead ? <p className="wizard__lead">{lead}</p> : null}
            </div>
            <button
              type="button"
              className="icon-btn"
              aria-label="Close"
              onClick={onClose}
              disabled={s.creating !== null}
            >
              <Icon name="close" size={18} />
            </button>
          </header>
          <div className="wizard__body" ref={body}>
            <StepBody step={s.step} />
          </div>
          <footer className="wizard__foot">
            <FootMessage error={s.createError?.message ?? null} hint={blocker} busy={s.creating} />
            <div className="wizard__buttons">
              {index > 0 ? (
                <button
                  type="button"
                  className="btn"
                  onClick={previousStep}
                  disabled={s.creating !== null}
                >
                  <Icon name="back" size={15} />
                  Back
                </button>
              ) : (
                <button type="button" className="btn" onClick={onClose}>
                  Cancel
                </button>
              )}
              {s.step !== 'summary' ? (
                <button
                  type="button"
                  className="btn btn--primary"
                  disabled={blocker !== null}
                  onClick={nextStep}
                  data-testid="wizard-next"
                >
                  Next
                  <Icon name="forward" size={15} />
                </button>
              ) : (
                <>
                  <button
                    type="button"
                    className={`btn${s.creating === 'customize' ? ' btn--busy' : ''}`}
                    disabled={s.creating !== null || blocker !== null}
                    onClick={() => void createFromWizard('customize')}
                  >
                    <Icon name="sliders" size={15} />
                    Customize first
                  </button>
                  <button
                    type="button"
                    className={`btn btn--primary${s.creating === 'start' ? ' btn--busy' : ''}`}
                    disabled={s.creating !== null || blocker !== null}
                    onClick={() => void createFromWizard('start')}
                  >
                    <Icon name="play" size={14} filled />
                    {s.creating === 'start' ? 'Creating…' : 'Create and start'}
                  </button>
                </>
              )}
            </div>
          </footer>
        </section>
      </div>
    </dialog>
  );
}

function StepBody({ step }: { step: WizardStep }): ReactNode {
  switch (step) {
    case 'os':
      return <ChooseOsStep />;
    case 'media':
      return <MediaStep />;
    case 'resources':
      return <ResourcesStep />;
    case 'name':
      return <NameStep />;
    case 'summary':
      return <SummaryStep />;
  }
}

function FootMessage({
  error,
  hint,
  busy,
}: {
  error: string | null;
  hint: string | null;
  busy: 'start' | 'customize' | null;
}) {
  if (busy) {
    return (
      <p className="wizard__status" role="status">
        <span className="spinner spinner--small" />
        {busy === 'start' ? 'Creating the VM and starting it…' : 'Creating the VM…'}
      </p>
    );
  }
  if (error) {
    return (
      <p className="wizard__error" role="alert">
        <Icon name="alert" size={15} />
        {error}
      </p>
    );
  }
  if (hint) return <p className="wizard__hint">{hint}</p>;
  return <span />;
}

function stepLead(step: WizardStep, osName: string, source: 'catalog' | 'iso'): string | null {
  switch (step) {
    case 'os':
      return source === 'catalog'
        ? 'Pick an operating system: Vivarium sets up hardware it has drivers for.'
        : 'Point to an installer or live ISO: Vivarium reads it and recognises the OS.';
    case 'media':
      return `Where ${osName}’s installer comes from.`;
    case 'resources':
      return `Prefilled with what ${osName} needs, within what this computer can spare.`;
    case 'name':
      return 'How it appears in the library.';
    case 'summary':
      return 'Check the choices; each can be changed later in the VM’s Settings.';
  }
}

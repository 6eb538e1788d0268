import { lazy, Suspense, useEffect, useLayoutEffect, useRef, type ReactNode } from 'react';
import { createFromWizard } from '../../actions/wizard/create';
import { showApplianceImport } from '../../actions/wizard/appliance';
import { showManualForm, startWizard } from '../../actions/wizard/open';
import { goToStep, nextStep, previousStep } from '../../actions/wizard/steps';
import { stopUpload } from '../../actions/wizard/upload';
import { Icon, Logo } from '../../components/Icon';
import { useWizardStore, type WizardSetup, type WizardStep } from '../../stores/wizard';
import type { Derived } from './model';
import { AccountStep } from './steps/AccountStep';
import { ChooseOsStep } from './steps/ChooseOsStep';
import { MediaStep } from './steps/MediaStep';
import { NameStep } from './steps/NameStep';
import { ResourcesStep } from './steps/ResourcesStep';
import { SummaryStep } from './steps/SummaryStep';
import { useWizard } from './use-wizard';
import './wizard.css';

/** The plain form stays one click away: Linux kernel boot and everything by hand. */
const ManualVmDialog = lazy(() => import('./ManualVmDialog'));
/** "Import an appliance" (.ova/.ovf from VirtualBox or VMware). */
const ApplianceDialog = lazy(() => import('./ApplianceDialog'));

interface StepText {
  label: string;
  title: string;
  hint: string;
}

const STEP_TEXT: Record<WizardStep, StepText> = {
  os: { label: 'Operating system', title: 'What will this VM run?', hint: 'Catalogue or ISO' },
  media: { label: 'Install media', title: 'Install media', hint: 'Download or a file' },
  account: {
    label: 'Guest account',
    title: 'The guest’s account',
    hint: 'Login, SSH keys, host name',
  },
  resources: { label: 'Resources', title: 'Memory, CPUs and disk', hint: 'Prefilled for the OS' },
  name: { label: 'Name', title: 'Name the VM', hint: 'Unique in the library' },
  summary: { label: 'Summary', title: 'Ready to create', hint: 'Check and create' },
};

/** An OS with a cloud image: its media step is where "Ready to use" or an install is chosen. */
const SETUP_TEXT: StepText = {
  label: 'Setup',
  title: 'Ready to use, or install from an ISO',
  hint: 'Cloud image or installer',
};

function stepText(step: WizardStep, d: Derived): StepText {
  return step === 'media' && d.cloudAvailable ? SETUP_TEXT : STEP_TEXT[step];
}

/**
 * The New-VM wizard, in the `newVm` dialog slot: OS (catalogue or a local ISO,
 * detected), install media (download with progress, or a file), resources bounded by the host,
 * a unique name, and a summary with "Create and start" / "Customize first".
 */
export default function NewVmWizard({ onClose }: { onClose: () => void }) {
  const manual = useWizardStore((s) => s.manual);
  const appliance = useWizardStore((s) => s.appliance);
  // Before the first paint, so a previous session's last step never flashes. Closing the wizard
  // ends an upload still running (the server drops what it received).
  useLayoutEffect(() => {
    startWizard();
    return stopUpload;
  }, []);
  if (appliance) {
    return (
      <Suspense fallback={null}>
        <ApplianceDialog onClose={onClose} />
      </Suspense>
    );
  }
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
  const steps = d.steps;
  const index = Math.max(0, steps.indexOf(s.step));
  const blocker = d.blockers[s.step];
  const text = stepText(s.step, d);

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

  const lead = stepLead(s.step, d.osName, s.source, s.setup, d.cloudAvailable);
  const busy =
    s.creating && d.media.downloading && d.media.task
      ? `Downloading ${d.media.chosen?.label ?? 'the image'}… ${Math.round((d.media.task.progress ?? 0) * 100)}%`
      : s.creating === 'start'
        ? 'Creating the VM and starting it…'
        : s.creating
          ? 'Creating the VM…'
          : null;

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
            {steps.map((step, i) => {
              const state = i < index ? 'done' : i === index ? 'current' : 'todo';
              const reachable = steps.slice(0, i).every((p) => !d.blockers[p]);
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
                      <span className="wstep__label">{stepText(step, d).label}</span>
                      <span className="wstep__caption">
                        {d.captions[step] ?? stepText(step, d).hint}
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
            <button
              type="button"
              className="link-btn"
              onClick={() => showApplianceImport(true)}
              disabled={s.creating !== null}
              data-testid="wizard-appliance"
            >
              <Icon name="disk" size={14} />
              Import an appliance (.ova)
            </button>
          </div>
        </aside>

        <section className="wizard__main">
          <header className="wizard__head">
            <div>
              <p className="wizard__eyebrow">
                Step {index + 1} of {steps.length}
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
            <FootMessage error={s.createError?.message ?? null} hint={blocker} busy={busy} />
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
    case 'account':
      return <AccountStep />;
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
  busy: string | null;
}) {
  if (busy) {
    return (
      <p className="wizard__status" role="status">
        <span className="spinner spinner--small" />
        {busy}
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

function stepLead(
  step: WizardStep,
  osName: string,
  source: 'catalog' | 'iso',
  setup: WizardSetup,
  cloudAvailable: boolean,
): string | null {
  switch (step) {
    case 'os':
      return source === 'catalog'
        ? 'Pick an operating system: Vivarium sets up hardware it has drivers for.'
        : 'Point to an installer or live ISO: Vivarium reads it and recognises the OS.';
    case 'media':
      return cloudAvailable
        ? `${osName} as a cloud image boots straight into a working system you can ssh into, or install it from its ISO.`
        : `Where ${osName}’s installer comes from.`;
    case 'account':
      return `What ${osName}’s first boot sets up: your login, your SSH keys and the host name.`;
    case 'resources':
      return setup === 'cloud'
        ? `Prefilled with what ${osName} needs; the cloud image’s disk grows to the size you give.`
        : `Prefilled with what ${osName} needs, within what this computer can spare.`;
    case 'name':
      return 'How it appears in the library.';
    case 'summary':
      return 'Check the choices; each can be changed later in the VM’s Settings.';
  }
}

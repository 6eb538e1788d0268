/** Moving between the wizard's steps (the setup decides which there are). */
import { wizardSteps, type WizardStep } from '../../stores/wizard';
import { refreshName } from './name';
import { get, set } from './shared';

export function goToStep(step: WizardStep): void {
  if (step === 'name') refreshName();
  set({ step });
}

export function nextStep(): void {
  const steps = wizardSteps(get().setup);
  const i = steps.indexOf(get().step);
  const next = steps[i + 1];
  if (next) goToStep(next);
}

export function previousStep(): void {
  const steps = wizardSteps(get().setup);
  const i = steps.indexOf(get().step);
  const prev = steps[i - 1];
  if (prev) goToStep(prev);
}

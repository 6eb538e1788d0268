/** Moving between the wizard's steps. */
import { WIZARD_STEPS, type WizardStep } from '../../stores/wizard';
import { refreshName } from './name';
import { get, set } from './shared';

export function goToStep(step: WizardStep): void {
  if (step === 'name') refreshName();
  set({ step });
}

export function nextStep(): void {
  const i = WIZARD_STEPS.indexOf(get().step);
  const next = WIZARD_STEPS[i + 1];
  if (next) goToStep(next);
}

export function previousStep(): void {
  const i = WIZARD_STEPS.indexOf(get().step);
  const prev = WIZARD_STEPS[i - 1];
  if (prev) goToStep(prev);
}

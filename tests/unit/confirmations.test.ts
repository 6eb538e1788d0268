import { describe, expect, it } from 'vitest';
import { VmConfigSchema } from '../../common/contract';
import { asksFirst, POWER_QUESTIONS } from '../../common/rules/confirmations';
import { fieldsNeedingStop } from '../../common/rules/vm-settings';

describe('confirmations', () => {
  const config = VmConfigSchema.parse({
    configVersion: 3,
    id: 'abcdefabcdef',
    name: 'old',
    createdAt: '2026-01-01T00:00:00.000Z',
    memoryMiB: 256,
  });

  it('asks by default, also for a vm.json written before the switch existed', () => {
    expect(config.confirmDestructive).toBe(true);
    for (const op of ['powerOff', 'reset', 'revert', 'delete'] as const) {
      expect(asksFirst(op, config)).toBe(true);
    }
  });

  it("stops asking after “don't ask again”, except before deleting the VM", () => {
    const quiet = { ...config, confirmDestructive: false };
    expect(asksFirst('powerOff', quiet)).toBe(false);
    expect(asksFirst('reset', quiet)).toBe(false);
    expect(asksFirst('revert', quiet)).toBe(false);
    expect(asksFirst('delete', quiet)).toBe(true);
  });

  it('lets the switch change while the VM runs', () => {
    expect(fieldsNeedingStop(['confirmDestructive', 'notes'])).toEqual([]);
  });

  it('says what is lost, like pulling the plug', () => {
    expect(POWER_QUESTIONS.powerOff.lost).toMatch(/pulling the plug: unsaved work .* is lost/);
    expect(POWER_QUESTIONS.reset.lost).toMatch(/unsaved work .* is lost/);
    expect(POWER_QUESTIONS.powerOff.title('web')).toBe('Power off “web”?');
  });
});

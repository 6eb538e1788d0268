import { describe, expect, it } from 'vitest';
import { keyFor, KEY_COMBOS } from '../../renderer/src/features/vm/display/keys';
import { formatHash, parseHash } from '../../renderer/src/lib/route';

describe('paste as keystrokes: text -> US keyboard keys', () => {
  it('maps letters, digits and shifted symbols to physical keys', () => {
    expect(keyFor('a')).toEqual({ keysym: 0x61, code: 'KeyA', shift: false });
    expect(keyFor('Q')).toEqual({ keysym: 0x51, code: 'KeyQ', shift: true });
    expect(keyFor('7')).toEqual({ keysym: 0x37, code: 'Digit7', shift: false });
    expect(keyFor('$')).toEqual({ keysym: 0x24, code: 'Digit4', shift: true });
    expect(keyFor('(')).toMatchObject({ code: 'Digit9', shift: true });
    expect(keyFor('|')).toMatchObject({ code: 'Backslash', shift: true });
    expect(keyFor(' ')).toMatchObject({ code: 'Space', shift: false });
    expect(keyFor('~')).toMatchObject({ code: 'Backquote', shift: true });
  });

  it('turns line ends into Enter once, and skips control characters', () => {
    expect(keyFor('\n')).toEqual({ keysym: 0xff0d, code: 'Enter', shift: false });
    expect(keyFor('\r')).toBeNull();
    expect(keyFor('\t')).toMatchObject({ code: 'Tab' });
    expect(keyFor('\u0007')).toBeNull();
  });

  it('sends other characters as Unicode keysyms without a physical key', () => {
    expect(keyFor('é')).toEqual({ keysym: 0xe9, code: null, shift: false });
    expect(keyFor('€')).toEqual({ keysym: 0x01000000 + 0x20ac, code: null, shift: false });
  });

  it('offers Ctrl+Alt+F1..F7, Alt+Tab and Print Screen as QEMU qcodes', () => {
    const labels = KEY_COMBOS.map((c) => c.label);
    for (let n = 1; n <= 7; n++) expect(labels).toContain(`Ctrl+Alt+F${n}`);
    expect(KEY_COMBOS.find((c) => c.label === 'Alt+Tab')?.keys).toEqual(['alt', 'tab']);
    expect(KEY_COMBOS.find((c) => c.label === 'Print Screen')?.keys).toEqual(['print']);
    for (const c of KEY_COMBOS) for (const k of c.keys) expect(k).toMatch(/^[a-z0-9_]+$/);
  });
});

describe('routes in the hash', () => {
  it('round-trips the library and VM tabs', () => {
    expect(parseHash('')).toEqual({ view: 'library' });
    expect(parseHash('#/')).toEqual({ view: 'library' });
    expect(parseHash('#/vm/0123456789ab')).toEqual({
      view: 'vm',
      vmId: '0123456789ab',
      tab: 'overview',
    });
    const r = { view: 'vm', vmId: '0123456789ab', tab: 'display' } as const;
    expect(parseHash(formatHash(r))).toEqual(r);
    expect(formatHash({ view: 'library' })).toBe('#/');
  });

  it('treats anything else as the library', () => {
    expect(parseHash('#/nowhere')).toEqual({ view: 'library' });
    expect(parseHash('#/vm/')).toEqual({ view: 'library' });
  });
});

/**
 * Text -> key presses on a US keyboard, for "paste as keystrokes" (a guest without an agent has
 * no shared clipboard). Each character is its X11 keysym plus the physical key (KeyboardEvent.code)
 * and whether Shift is held, so QEMU's extended key events type the right scancodes.
 */
export interface KeyStroke {
  keysym: number;
  code: string | null;
  shift: boolean;
}

export const XK_SHIFT_L = 0xffe1;
const XK_RETURN = 0xff0d;
const XK_TAB = 0xff09;

const PLAIN: Record<string, string> = {
  ' ': 'Space',
  '-': 'Minus',
  '=': 'Equal',
  '[': 'BracketLeft',
  ']': 'BracketRight',
  '\\': 'Backslash',
  ';': 'Semicolon',
  "'": 'Quote',
  ',': 'Comma',
  '.': 'Period',
  '/': 'Slash',
  '`': 'Backquote',
};
const SHIFTED: Record<string, string> = {
  '!': 'Digit1',
  '@': 'Digit2',
  '#': 'Digit3',
  $: 'Digit4',
  '%': 'Digit5',
  '^': 'Digit6',
  '&': 'Digit7',
  '*': 'Digit8',
  '(': 'Digit9',
  ')': 'Digit0',
  _: 'Minus',
  '+': 'Equal',
  '{': 'BracketLeft',
  '}': 'BracketRight',
  '|': 'Backslash',
  ':': 'Semicolon',
  '"': 'Quote',
  '<': 'Comma',
  '>': 'Period',
  '?': 'Slash',
  '~': 'Backquote',
};

export function keyFor(ch: string): KeyStroke | null {
  if (ch === '\n') return { keysym: XK_RETURN, code: 'Enter', shift: false };
  if (ch === '\t') return { keysym: XK_TAB, code: 'Tab', shift: false };
  if (ch === '\r') return null;
  const cp = ch.codePointAt(0);
  if (cp === undefined || cp < 0x20 || cp === 0x7f) return null;
  if (/^[a-z]$/.test(ch)) return { keysym: cp, code: `Key${ch.toUpperCase()}`, shift: false };
  if (/^[A-Z]$/.test(ch)) return { keysym: cp, code: `Key${ch}`, shift: true };
  if (/^[0-9]$/.test(ch)) return { keysym: cp, code: `Digit${ch}`, shift: false };
  const plain = PLAIN[ch];
  if (plain) return { keysym: cp, code: plain, shift: false };
  const shifted = SHIFTED[ch];
  if (shifted) return { keysym: cp, code: shifted, shift: true };
  // Outside ASCII: the Unicode keysym; whether it arrives depends on the guest's keymap.
  return { keysym: cp < 0x100 ? cp : 0x01000000 + cp, code: null, shift: false };
}

/** The send-keys menu: QEMU qcodes pressed together. */
export const KEY_COMBOS: ReadonlyArray<{ label: string; keys: string[] }> = [
  ...[1, 2, 3, 4, 5, 6, 7].map((n) => ({
    label: `Ctrl+Alt+F${n}`,
    keys: ['ctrl', 'alt', `f${n}`],
  })),
  { label: 'Alt+Tab', keys: ['alt', 'tab'] },
  { label: 'Print Screen', keys: ['print'] },
  { label: 'Ctrl+Alt+Backspace', keys: ['ctrl', 'alt', 'backspace'] },
  { label: 'Super (Windows key)', keys: ['meta_l'] },
  { label: 'Escape', keys: ['esc'] },
];

import { useEffect, useRef, useState } from 'react';
import { Icon } from './Icon';

/**
 * A command in a code box with a Copy button that says "Copied" for a moment. Where the page may
 * not write the clipboard (an insecure origin, a refusal), the text is selected instead, for the
 * keyboard shortcut.
 */
export function CopyCommand({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'select'>('idle');
  const code = useRef<HTMLElement>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);

  const copy = async () => {
    clearTimeout(timer.current);
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      const el = code.current;
      if (el) window.getSelection()?.selectAllChildren(el);
      setState('select');
    }
    timer.current = setTimeout(() => setState('idle'), 2500);
  };

  return (
    <div className="copy-cmd" data-testid="copy-command">
      <code ref={code} className="copy-cmd__text" aria-label={label}>
        {text}
      </code>
      <button
        type="button"
        className={`btn btn--compact copy-cmd__btn${state === 'copied' ? ' is-done' : ''}`}
        onClick={() => void copy()}
        aria-label={state === 'copied' ? 'Copied' : `Copy ${label.toLowerCase()}`}
      >
        <Icon name={state === 'copied' ? 'check' : 'copy'} size={14} />
        {state === 'copied' ? 'Copied' : state === 'select' ? 'Press Ctrl+C' : 'Copy'}
      </button>
      <span className="visually-hidden" role="status">
        {state === 'copied' ? 'Copied to the clipboard' : ''}
      </span>
    </div>
  );
}

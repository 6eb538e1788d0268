import { openLibrary } from '../actions/ui';
import { Icon } from './Icon';

/** "‹ Library" at the start of a page's title bar (Esc does the same). */
export function BackButton({ className }: { className: string }) {
  return (
    <button
      type="button"
      className={`btn btn--ghost ${className}`}
      onClick={openLibrary}
      title="Back to the library (Esc)"
    >
      <Icon name="back" size={16} />
      Library
    </button>
  );
}

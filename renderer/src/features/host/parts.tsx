import type { ReactNode } from 'react';
import { Icon, type IconName } from '../../components/Icon';

/** A titled card like the VM Overview's. */
export function Card({
  title,
  icon,
  children,
  aside,
  className = '',
  testId,
}: {
  title: string;
  icon: IconName;
  children: ReactNode;
  /** Shown at the end of the title line (a count, a total). */
  aside?: ReactNode;
  className?: string;
  testId?: string;
}) {
  return (
    <section className={`card ${className}`} data-testid={testId} aria-label={title}>
      <h2 className="card__title">
        <Icon name={icon} size={16} />
        {title}
        {aside ? <span className="card__aside">{aside}</span> : null}
      </h2>
      {children}
    </section>
  );
}

export function Facts({ children }: { children: ReactNode }) {
  return <dl className="facts">{children}</dl>;
}

export function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function Path({ children }: { children: ReactNode }) {
  return <code className="path">{children}</code>;
}

import type { ReactNode } from 'react';
import { Icon, type IconName } from '../../../components/Icon';

/** The Overview's cards of facts (shared by its parts, which live in files of their own). */
export function Card({
  title,
  icon,
  children,
  className = '',
}: {
  title: string;
  icon: IconName;
  children: ReactNode;
  className?: string;
}) {
  return (
    <section className={`card ${className}`}>
      <h2 className="card__title">
        <Icon name={icon} size={16} />
        {title}
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

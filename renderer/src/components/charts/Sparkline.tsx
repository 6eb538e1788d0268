/**
 * A line of the recent values, without axes: a card's glance at "is it busy, is it growing".
 * The scale is fixed by `max` when given (percent), so equal heights mean equal load across cards.
 */
export function Sparkline({
  values,
  max,
  label,
  color = 'var(--accent)',
  testId,
}: {
  values: (number | null)[];
  max?: number;
  label: string;
  color?: string;
  testId?: string;
}) {
  const W = 100;
  const H = 28;
  const known = values.filter((v): v is number => v !== null);
  const top = Math.max(max ?? 0, ...known, 1e-9);
  const step = values.length > 1 ? W / (values.length - 1) : W;
  const segments: string[][] = [[]];
  values.forEach((v, i) => {
    if (v === null) {
      if ((segments[segments.length - 1] ?? []).length > 0) segments.push([]);
      return;
    }
    const y = H - 1 - (Math.min(v, top) / top) * (H - 2);
    segments[segments.length - 1]?.push(`${(i * step).toFixed(1)},${y.toFixed(1)}`);
  });
  return (
    <svg
      className="sparkline"
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={label}
      data-testid={testId}
      data-points={known.length}
    >
      {segments
        .filter((s) => s.length > 0)
        .map((s, i) =>
          s.length === 1 ? (
            <circle
              key={i}
              cx={s[0]?.split(',')[0]}
              cy={s[0]?.split(',')[1]}
              r="1.5"
              fill={color}
            />
          ) : (
            <polyline
              key={i}
              points={s.join(' ')}
              fill="none"
              stroke={color}
              strokeWidth="1.5"
              vectorEffect="non-scaling-stroke"
              strokeLinejoin="round"
            />
          ),
        )}
    </svg>
  );
}

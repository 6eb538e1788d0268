/** Small statistics and table printing shared by the benchmarks. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function printTable(title: string, headers: string[], rows: (string | number)[][]): void {
  const cells = [
    headers,
    ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(1) : c))),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: (string | number)[]) =>
    r.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join('  ');
  console.log(`\n${title}\n${line(headers)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of cells.slice(1)) console.log(line(r));
}

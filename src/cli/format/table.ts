// Plain-text tables with padEnd/padStart, as `ss` and `netstat -i` print
// them: columns as wide as their widest cell, numbers right-aligned, and no
// trailing spaces after the last column.

export type Align = 'left' | 'right';

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const last = header.length - 1;
  return all
    .map((row) =>
      row
        .map((cell, i) => {
          const right = align[i] === 'right';
          if (i === last && !right) return cell;
          return right ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
        })
        .join('  ')
        .trimEnd(),
    )
    .map((line) => line + '\n')
    .join('');
}

// Plain-text tables for the terminal (and for the README, which quotes them as Markdown).

export type Cell = string | number | null;

/**
 * A Markdown table whose columns are padded so that it also reads well as plain text.
 * Columns of figures (negative ones too) are right-aligned; a column with a cell of words is left-aligned.
 */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map(cell));
  const widths = headers.map((header, i) => Math.max(header.length, ...text.map((row) => row[i]?.length ?? 0)));
  const left = headers.map((_, i) => text.some((row) => /^(?!-\d)[^\d–]/.test(row[i] ?? '')));
  const pad = (c: string, i: number): string => (left[i] ? c.padEnd(widths[i]!) : c.padStart(widths[i]!));
  const line = (cells: readonly string[]): string => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (left[i] ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`;
  return [line(headers), rule, ...text.map(line)].join('\n');
}

function cell(value: Cell): string {
  if (value === null) return '–';
  if (typeof value === 'string') return value;
  return fixed(value);
}

/** Three significant figures at most, no exponent: 0.412, 3.61, 41.2, 1234. */
export function fixed(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100 || Number.isInteger(value)) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** A ratio printed as "2.31×", or "–" when there was no baseline figure. */
export function times(value: number | null): string {
  return value === null ? '–' : `${fixed(value)}×`;
}

// Markdown building blocks of a model card (GitHub-flavoured: pipe tables).

/**
 * Text from a manifest, run or round made safe for Markdown, in a table cell or inline: `|`
 * cannot end a cell, HTML and emphasis, code and link characters show as themselves, and line
 * breaks become `<br>` (a cell holds one line). An `_` inside a word is left alone (CommonMark
 * never reads it as emphasis), so names like `run_3f9a` stay readable.
 *
 * @example
 * text('a | b <i>'); // 'a \\| b \\<i\\>'
 */
export function text(value: string): string {
  return value.replace(/[\\|*`[\]<>~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\$&').replace(/\r\n|\r|\n/g, '<br>');
}

/**
 * A pipe table; cells are written as given (escape data with {@link text}).
 *
 * @example
 * table(['Metric', 'Value'], [['accuracy', '0.97']]); // ['| Metric | Value |', '| --- | --- |', '| accuracy | 0.97 |']
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)];
}

/** A two-column Field | Value table. */
export const fields = (rows: readonly (readonly [string, string])[]): string[] => table(['Field', 'Value'], rows);

/**
 * A number as a card shows it: integers as they are, others to six significant digits.
 *
 * @example
 * num(0.97123456); // '0.971235'
 */
export function num(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

/** Epoch milliseconds as `2026-11-29 10:12:48Z`. */
export const time = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;

/** The value, or "none" when absent. */
export const orNone = <T>(value: T | null | undefined, show: (v: T) => string): string =>
  value === null || value === undefined ? 'none' : show(value);

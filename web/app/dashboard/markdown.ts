// A tiny Markdown reader for model cards: headings, paragraphs, bullet lists, pipe tables,
// fenced code, and inline code, **strong**, backslash escapes and <br>. It yields plain
// blocks the view turns into elements with textContent, so no card text is ever parsed as
// HTML; anything else shows as the characters it is.

export type Inline = { kind: 'text' | 'code' | 'strong'; text: string } | { kind: 'br' };

export type Block =
  | { kind: 'heading'; level: number; content: Inline[] }
  | { kind: 'paragraph'; content: Inline[] }
  | { kind: 'list'; items: Inline[][] }
  | { kind: 'table'; header: Inline[][]; rows: Inline[][][] }
  | { kind: 'code'; text: string };

const PUNCTUATION = /[!-/:-@[-`{-~]/;
const BR = /^<br\s*\/?>/i;

/** Drops the backslash of each escape (`\|` → `|`). */
function dropEscapes(text: string): string {
  return text.replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

/**
 * Inline spans of one line of text.
 *
 * @example
 * parseInline('**v2** is `fedavg`\\_x') // [{kind: 'strong', text: 'v2'}, {kind: 'text', text: ' is '}, {kind: 'code', text: 'fedavg'}, {kind: 'text', text: '_x'}]
 */
export function parseInline(line: string): Inline[] {
  const out: Inline[] = [];
  let text = '';
  const flush = () => {
    if (text) out.push({ kind: 'text', text });
    text = '';
  };
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    const next = line[i + 1] ?? '';
    const br = BR.exec(line.slice(i));
    if (c === '\\' && PUNCTUATION.test(next)) {
      text += next;
      i += 2;
    } else if (br) {
      flush();
      out.push({ kind: 'br' });
      i += br[0].length;
    } else if (c === '`' && line.indexOf('`', i + 1) > i) {
      const end = line.indexOf('`', i + 1);
      flush();
      out.push({ kind: 'code', text: line.slice(i + 1, end) });
      i = end + 1;
    } else if (c === '*' && next === '*' && line.indexOf('**', i + 2) > i + 2) {
      const end = line.indexOf('**', i + 2);
      flush();
      out.push({ kind: 'strong', text: dropEscapes(line.slice(i + 2, end)) });
      i = end + 2;
    } else {
      text += c;
      i += 1;
    }
  }
  flush();
  return out;
}

/** A table row's cells: split on `|` that no backslash escapes, outer pipes dropped. */
function cells(line: string): Inline[][] {
  const parts: string[] = [];
  let cell = '';
  const body = line.trim().replace(/^\|/, '');
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c === '\\' && i + 1 < body.length) {
      cell += c + body[i + 1];
      i++;
    } else if (c === '|') {
      parts.push(cell);
      cell = '';
    } else cell += c;
  }
  if (cell.trim() !== '') parts.push(cell);
  return parts.map((p) => parseInline(p.trim()));
}

const SEPARATOR = /^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const LIST_ITEM = /^\s*[-*]\s+(.*)$/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;

/**
 * The blocks of a Markdown document.
 *
 * @example
 * parseMarkdown('# Card\n\n| a | b |\n| --- | --- |\n| 1 | 2 |')
 * // [{kind: 'heading', level: 1, …}, {kind: 'table', header: [[…'a'], [… 'b']], rows: [[[…'1'], […'2']]]}]
 */
export function parseMarkdown(markdown: string): Block[] {
  const lines = markdown.split(/\r\n|\r|\n/);
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  const endParagraph = () => {
    if (paragraph.length > 0) blocks.push({ kind: 'paragraph', content: parseInline(paragraph.join(' ')) });
    paragraph = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    const heading = HEADING.exec(line);
    if (line.trim() === '') {
      endParagraph();
      i++;
    } else if (line.trimStart().startsWith('```')) {
      endParagraph();
      const code: string[] = [];
      for (i++; i < lines.length && !(lines[i] as string).trimStart().startsWith('```'); i++)
        code.push(lines[i] as string);
      blocks.push({ kind: 'code', text: code.join('\n') });
      i++;
    } else if (heading) {
      endParagraph();
      blocks.push({ kind: 'heading', level: heading[1]?.length ?? 1, content: parseInline(heading[2] ?? '') });
      i++;
    } else if (line.trimStart().startsWith('|')) {
      endParagraph();
      const rows: string[] = [];
      for (; i < lines.length && (lines[i] as string).trimStart().startsWith('|'); i++) rows.push(lines[i] as string);
      const [head = '', ...rest] = rows;
      const body = SEPARATOR.test(rest[0] ?? '') ? rest.slice(1) : rest;
      blocks.push({ kind: 'table', header: cells(head), rows: body.map(cells) });
    } else if (LIST_ITEM.test(line)) {
      endParagraph();
      const items: Inline[][] = [];
      for (let m = LIST_ITEM.exec(line); m; m = LIST_ITEM.exec(lines[i] ?? '')) {
        items.push(parseInline(m[1] ?? ''));
        i++;
      }
      blocks.push({ kind: 'list', items });
    } else {
      paragraph.push(line.trim());
      i++;
    }
  }
  endParagraph();
  return blocks;
}

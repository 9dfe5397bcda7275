import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown } from './markdown.ts';

const text = (t: string) => ({ kind: 'text', text: t });

describe('parseInline', () => {
  it('reads code, strong, escapes and <br>, and leaves other markup as characters', () => {
    expect(parseInline('**v2** uses `fedavg`<br>run\\_1 \\| \\<i\\> *x* [a](b)')).toEqual([
      { kind: 'strong', text: 'v2' },
      text(' uses '),
      { kind: 'code', text: 'fedavg' },
      { kind: 'br' },
      text('run_1 | <i> *x* [a](b)'),
    ]);
  });

  it('keeps HTML as text, so it is never markup', () => {
    expect(parseInline('<img src=x onerror=alert(1)><script>alert(1)</script>')).toEqual([
      text('<img src=x onerror=alert(1)><script>alert(1)</script>'),
    ]);
  });

  it('shows an unclosed backtick or ** as it is', () => {
    expect(parseInline('a ` b ** c')).toEqual([text('a ` b ** c')]);
  });
});

describe('parseMarkdown', () => {
  it('reads headings, paragraphs, lists, tables and code', () => {
    const md = [
      '# Model card: digits v3',
      '',
      'A small CNN',
      'for digits.',
      '',
      '## Metrics',
      '',
      '| Metric | Value |',
      '| --- | --- |',
      '| accuracy | 0.97 |',
      '| note | a \\| b<br>c |',
      '',
      '- round r\\_1',
      '- ε = ∞',
      '',
      '```',
      '<b>raw</b>',
      '```',
    ].join('\n');
    expect(parseMarkdown(md)).toEqual([
      { kind: 'heading', level: 1, content: [text('Model card: digits v3')] },
      { kind: 'paragraph', content: [text('A small CNN for digits.')] },
      { kind: 'heading', level: 2, content: [text('Metrics')] },
      {
        kind: 'table',
        header: [[text('Metric')], [text('Value')]],
        rows: [
          [[text('accuracy')], [text('0.97')]],
          [[text('note')], [text('a | b'), { kind: 'br' }, text('c')]],
        ],
      },
      { kind: 'list', items: [[text('round r_1')], [text('ε = ∞')]] },
      { kind: 'code', text: '<b>raw</b>' },
    ]);
  });

  it('keeps empty cells and reads a table without a separator row as all rows', () => {
    expect(parseMarkdown('| a | | c |\n| 1 | 2 | 3 |')).toEqual([
      {
        kind: 'table',
        header: [[text('a')], [], [text('c')]],
        rows: [[[text('1')], [text('2')], [text('3')]]],
      },
    ]);
  });

  it('reads CRLF line ends and an unclosed code fence to the end', () => {
    expect(parseMarkdown('### Files\r\n```\r\nx')).toEqual([
      { kind: 'heading', level: 3, content: [text('Files')] },
      { kind: 'code', text: 'x' },
    ]);
  });
});

import type { CardBody, CardFeature } from '../../../protocol/card.ts';
import type { TensorSpec } from '../../../protocol/manifest.ts';
import { lineageSection, privacySection, roundSection, runsSection } from './markdown-lineage.ts';
import { fields, num, orNone, table, text, time } from './md.ts';

// The Markdown of a card: one section per part of the JSON card, each saying "none" when empty.

function overviewSection(card: CardBody): string[] {
  const o = card.overview;
  const status = o.status === 'archived' ? 'archived (decommissioned: no alias may point at it)' : o.status;
  return [
    `# Model card: ${text(o.name)} v${o.version}`,
    '',
    ...fields([
      ['Model', text(o.name)],
      ['Version', String(o.version)],
      ['Status', status],
      ['Published', time(o.createdAt)],
      ['Format', text(o.format)],
      ['Description', orNone(o.description, text)],
    ]),
  ];
}

const tensorRow = (direction: string, t: TensorSpec) => [direction, text(t.name), t.dtype, `[${t.shape.join(', ')}]`];

function interfaceSection(card: CardBody): string[] {
  const { inputs, outputs, labels } = card.interface;
  return [
    '## Inputs and outputs',
    '',
    ...table(
      ['Direction', 'Name', 'Type', 'Shape'],
      [...inputs.map((t) => tensorRow('input', t)), ...outputs.map((t) => tensorRow('output', t))],
    ),
    '',
    `Labels: ${labels.length ? labels.map((l, i) => `${i} = ${text(l)}`).join(', ') : 'none'}`,
  ];
}

function source(f: CardFeature): string {
  if (f.source === null) return 'supplied by the app';
  const of = f.source.input === undefined ? '' : ` of ${f.source.input}`;
  if ('index' in f.source) return `input element ${f.source.index}${of}`;
  const stat =
    f.source.threshold === undefined ? f.source.stat : `${f.source.stat} (threshold ${num(f.source.threshold)})`;
  return `${stat}${of}`;
}

function featuresSection(card: CardBody): string[] {
  const rows = card.features.map((f) => [
    text(f.name),
    f.kind,
    source(f),
    f.method ?? 'default',
    f.threshold === null ? 'default' : num(f.threshold),
  ]);
  const reference = card.drift.reference;
  return [
    '## Features (drift monitoring)',
    '',
    ...(rows.length ? table(['Feature', 'Kind', 'Source', 'Drift method', 'Threshold'], rows) : ['none']),
    '',
    `Reference profile: ${reference === null ? 'none (drift is not monitored)' : text(reference)}`,
  ];
}

function trainingSection(card: CardBody): string[] {
  const t = card.training;
  if (t === null) return ['## Training', '', 'none'];
  return [
    '## Training',
    '',
    ...fields([
      ['Dataset', text(t.dataset)],
      ['Samples', num(t.samples)],
      ['Split', `train ${num(t.split.train)}, holdout ${num(t.split.holdout)}`],
      ['Seed', num(t.seed)],
      ['Epochs', orNone(t.epochs, num)],
      ['Backend', orNone(t.backend, text)],
    ]),
  ];
}

function metricsSection(card: CardBody): string[] {
  const rows = Object.entries(card.metrics).map(([k, value]) => [text(k), num(value)]);
  return ['## Metrics', '', ...(rows.length ? table(['Metric', 'Value'], rows) : ['none'])];
}

function aliasesSection(card: CardBody): string[] {
  const share = (percent: number | null) =>
    percent === null ? 'runs alongside, its output not shown' : `${num(percent)}% of clients`;
  const rows = card.aliases.map((a) => [text(a.alias), a.role, share(a.percent)]);
  return [
    '## Aliases and rollout',
    '',
    ...(rows.length ? table(['Alias', 'Role', 'Serves'], rows) : ['none: no alias or rollout points at this version.']),
  ];
}

function driftSection(card: CardBody): string[] {
  const { openAlerts, lastJudged } = card.drift;
  const alerts =
    openAlerts.windows === 0
      ? 'none'
      : `${openAlerts.windows} window(s) since ${time(openAlerts.since ?? 0)}; drifted features: ${
          openAlerts.drifted.map(text).join(', ') || 'none'
        }`;
  const judged = lastJudged
    ? [
        `Last judged window: ${time(lastJudged.window)} (updated ${time(lastJudged.updatedAt)}): dataset ${
          lastJudged.drifted ? 'drifted' : 'did not drift'
        }; share of features drifted ${num(lastJudged.driftedShare)} (threshold ${num(lastJudged.threshold)}).`,
        '',
        ...table(
          ['Feature', 'Method', 'Statistic', 'Threshold', 'Drifted'],
          lastJudged.features.map((f) => [
            text(f.name),
            text(f.method),
            orNone(f.statistic, num),
            num(f.threshold),
            f.drifted ? 'yes' : 'no',
          ]),
        ),
      ]
    : ['Last judged window: none'];
  return ['## Drift', '', `Unacknowledged drift alerts: ${alerts}`, '', ...judged];
}

function filesSection(card: CardBody): string[] {
  const rows = card.files.map((f) => [text(f.path), f.role, String(f.size), f.sha256]);
  return ['## Files', '', ...(rows.length ? table(['Path', 'Role', 'Bytes', 'SHA-256'], rows) : ['none'])];
}

/**
 * The card as Markdown: every section in a fixed order, data escaped for tables.
 *
 * @example
 * const markdown = renderCard(cardBody(facts, round, privacy)); // '# Model card: digits v3\n…'
 */
export function renderCard(card: CardBody): string {
  const sections = [
    overviewSection(card),
    interfaceSection(card),
    featuresSection(card),
    trainingSection(card),
    metricsSection(card),
    lineageSection(card),
    runsSection(card),
    roundSection(card),
    privacySection(card.overview.name, card.privacy),
    aliasesSection(card),
    driftSection(card),
    filesSection(card),
  ];
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

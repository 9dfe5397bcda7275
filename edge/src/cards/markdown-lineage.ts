import type { CardBody, CardRun } from '../../../protocol/card.ts';
import type { CumulativePrivacy, PrivacySpent, Round } from '../../../protocol/rounds.ts';
import { fields, num, orNone, table, text, time } from './md.ts';

// The provenance sections of a card: lineage, training runs, the round, privacy.

const version = (n: number) => `v${n}`;

export function lineageSection(card: CardBody): string[] {
  const l = card.lineage;
  const run = l.runId === null ? 'none' : `${text(l.runId)}${card.runs.missingRunId ? ' (run not found)' : ''}`;
  // A round without noise records no ε in the lineage: its ε is ∞, which the round itself shows.
  const noNoise = card.round.state === 'found' && card.round.round.privacy?.epsilon === null;
  const epsilon = l.epsilon === null && noNoise ? '∞ (the round added no noise)' : orNone(l.epsilon, num);
  return [
    '## Lineage',
    '',
    ...fields([
      ['Parent version', orNone(l.parentVersion, version)],
      ['Run', run],
      ['Data', orNone(l.data, text)],
      ['Round', orNone(l.roundId, text)],
      ['Contributors', orNone(l.contributors, num)],
      ['Examples', orNone(l.examples, num)],
      ['ε (epsilon)', epsilon],
      ['δ (delta)', orNone(l.delta, num)],
    ]),
  ];
}

function runLines(run: CardRun): string[] {
  const via = run.via.map((w) => (w === 'link' ? 'run linked this version' : 'manifest lineage.runId')).join(', ');
  const params = Object.entries(run.params).map(([k, value]) => [text(k), text(String(value))]);
  const metrics = Object.entries(run.metrics).map(([k, m]) => [text(k), num(m.value), String(m.step)]);
  return [
    `### Run ${text(run.id)}`,
    '',
    ...fields([
      ['Name', orNone(run.name, text)],
      ['Status', run.status],
      ['Tied by', via],
      ['Parent version', orNone(run.parentVersion, version)],
      ['Created', time(run.createdAt)],
      ['Ended', orNone(run.endedAt, time)],
    ]),
    '',
    ...(params.length ? table(['Param', 'Value'], params) : ['Params: none']),
    '',
    ...(metrics.length ? table(['Metric', 'Latest value', 'Step'], metrics) : ['Metrics: none']),
  ];
}

export function runsSection(card: CardBody): string[] {
  const { runs, missingRunId } = card.runs;
  const missing = missingRunId ? [`Run ${text(missingRunId)} named by the lineage: run not found.`] : [];
  if (runs.length === 0) return ['## Training runs', '', 'none', ...(missing.length ? ['', ...missing] : [])];
  return [
    '## Training runs',
    ...runs.flatMap((run) => ['', ...runLines(run)]),
    ...(missing.length ? ['', ...missing] : []),
  ];
}

function spentLines(p: PrivacySpent | null): string[] {
  if (p === null) return ['none: the round released no aggregate, so it spent no privacy.'];
  const rows: [string, string][] = [
    ['δ (delta)', num(p.delta)],
    ['Sampling rate q', num(p.q)],
    ['Noise multiplier', num(p.noiseMultiplier)],
    ['Rényi order', num(p.order)],
  ];
  if (p.epsilon === null) {
    return [
      'ε = ∞: no noise was added, so no finite ε bounds what this release reveals about a contributor.',
      '',
      ...fields(rows),
    ];
  }
  return fields([['ε (epsilon)', num(p.epsilon)], ...rows]);
}

function gateLines(round: Round): string[] {
  const gate = round.gate;
  if (gate === null) return ['none: the round reached no gate decision.'];
  const metrics = gate.metrics.map((m) => [text(m.set), String(m.examples), orNone(m.baseline, num), num(m.candidate)]);
  return [
    `${gate.blessed ? 'Blessed' : 'Rejected'} at ${time(gate.at)}.`,
    '',
    'Reasons:',
    '',
    ...(gate.reasons.length ? gate.reasons.map((r) => `- ${text(r)}`) : ['none']),
    '',
    ...(metrics.length
      ? table(['Evaluation set', 'Examples', 'Baseline accuracy', 'Candidate accuracy'], metrics)
      : ['Metrics: none']),
  ];
}

function roundLines(round: Round): string[] {
  const s = round.settings;
  return [
    ...fields([
      ['Round', text(round.id)],
      ['Status', round.status],
      ['Alias', text(round.alias)],
      ['Base version', version(round.baseVersion)],
      ['Candidate version', orNone(round.candidateVersion, version)],
      ['Opened', time(round.openedAt)],
      ['Closed', orNone(round.closedAt, time)],
      ['Eligible clients', String(round.eligible)],
      ['Contributors', String(round.contributors)],
      ['Examples', String(round.examples)],
      ['Clipped updates', String(round.clipped)],
      ['Reason', orNone(round.reason, text)],
    ]),
    '',
    '### Round settings',
    '',
    ...table(
      ['Setting', 'Value'],
      [
        ['Aggregator', s.aggregator],
        ['Clients (min–max)', `${s.minClients}–${s.maxClients}`],
        ['Deadline', time(s.deadline)],
        ['Local epochs', String(s.localEpochs)],
        ['Learning rate', num(s.learningRate)],
        ['Clip norm', num(s.clipNorm)],
        ['Noise multiplier', num(s.noiseMultiplier)],
        ['Example cap', String(s.exampleCap)],
        ['Min examples', String(s.minExamples)],
        ['δ (delta)', num(s.delta)],
      ],
    ),
    '',
    '### Privacy spent by the round',
    '',
    ...spentLines(round.privacy),
    '',
    '### Gate decision',
    '',
    ...gateLines(round),
  ];
}

export function roundSection(card: CardBody): string[] {
  const r = card.round;
  const body =
    r.state === 'none'
      ? ['none: this version was not made by a federated round.']
      : r.state === 'not-found'
        ? [`Round ${text(r.id)} (named by the lineage): round not found.`]
        : roundLines(r.round);
  return ['## Federated round', '', ...body];
}

export function privacySection(model: string, p: CumulativePrivacy): string[] {
  const line =
    p.rounds === 0
      ? `none: no round of ${text(model)} has released an aggregate, so no privacy has been spent.`
      : p.epsilon === null
        ? `ε = ∞ over ${p.rounds} round(s) (δ = ${num(p.delta)}): at least one round added no noise, so no finite ε bounds what the model's releases reveal.`
        : `ε = ${num(p.epsilon)}, δ = ${num(p.delta)} over ${p.rounds} round(s), composed by Rényi DP.`;
  return ['## Privacy of the model (all rounds)', '', line];
}

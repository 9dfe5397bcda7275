import type { CumulativePrivacy, PolicyInfo, Round, RoundList } from '../../protocol/rounds.ts';
import { table, time } from './format.ts';

type Out = (line: string) => void;

/**
 * ε to three significant digits; `∞` when it is null (a release without noise has no finite ε).
 *
 * @example
 * epsilon(null) // '∞'
 * epsilon(2.3456) // '2.35'
 */
export function epsilon(value: number | null): string {
  return value === null ? '∞' : String(Number(value.toPrecision(3)));
}

/** δ in exponent form: `1e-5`. */
const delta = (value: number): string => value.toExponential();

/**
 * A model's cumulative privacy in one line.
 *
 * @example
 * privacyLine({ epsilon: 1.5, delta: 1e-5, rounds: 2 }) // 'privacy spent: ε = 1.5 at δ = 1e-5 over 2 rounds (RDP)'
 */
export function privacyLine(p: CumulativePrivacy): string {
  if (p.rounds === 0) return 'privacy spent: none (no round released an aggregate)';
  const rounds = `${p.rounds} round${p.rounds === 1 ? '' : 's'}`;
  const why = p.epsilon === null ? '; a round without noise has no finite ε' : '';
  return `privacy spent: ε = ${epsilon(p.epsilon)} at δ = ${delta(p.delta)} over ${rounds} (RDP${why})`;
}

const gateText = (r: Round): string => (r.gate ? (r.gate.blessed ? 'blessed' : 'rejected') : '-');

/**
 * The rounds as table rows, header first.
 *
 * @example
 * roundRows(list.rounds)[0] // ['ID', 'STATUS', 'BASE', 'CONTRIBUTORS', 'EXAMPLES', 'ε', 'CANDIDATE', 'GATE']
 */
export function roundRows(rounds: readonly Round[]): string[][] {
  const rows = rounds.map((r) => [
    r.id,
    r.status,
    `v${r.baseVersion}`,
    `${r.contributors}/${r.eligible}`,
    String(r.examples),
    r.privacy ? epsilon(r.privacy.epsilon) : '-',
    r.candidateVersion === null ? '-' : `v${r.candidateVersion}`,
    gateText(r),
  ]);
  return [['ID', 'STATUS', 'BASE', 'CONTRIBUTORS', 'EXAMPLES', 'ε', 'CANDIDATE', 'GATE'], ...rows];
}

/** `rounds list`: the table and the model's cumulative privacy. */
export function printRounds(out: Out, list: RoundList): void {
  if (list.rounds.length === 0) out(`no rounds for ${list.model}`);
  else for (const line of table(roundRows(list.rounds))) out(line);
  out(privacyLine(list.privacy));
}

/** `rounds show`: every field of the round. */
export function printRound(out: Out, r: Round): void {
  const s = r.settings;
  out(`${r.id}  ${r.model}@${r.alias}  base v${r.baseVersion}  ${r.status}`);
  out(`  opened     ${time(r.openedAt)}, deadline ${time(s.deadline)}, closed ${time(r.closedAt)}`);
  out(
    `  clients    ${r.contributors} contributed (min ${s.minClients}, max ${s.maxClients}) of ${r.eligible} eligible`,
  );
  out(`  examples   ${r.examples} (each update counted up to ${s.exampleCap}; ${r.clipped} updates clipped)`);
  out(
    `  training   ${s.localEpochs} epochs at learning rate ${s.learningRate}, at least ${s.minExamples} examples a device`,
  );
  out(`  aggregate  ${s.aggregator}, clip norm ${s.clipNorm}, noise multiplier ${s.noiseMultiplier}`);
  out(
    `  evaluation ${s.evaluationSeconds > 0 ? `${s.evaluationSeconds} s for the contributors' held-out counts` : 'holdout file only'}`,
  );
  const p = r.privacy;
  out(
    p
      ? `  privacy    ε = ${epsilon(p.epsilon)} at δ = ${delta(p.delta)} (q ${Number(p.q.toPrecision(3))}, noise ${p.noiseMultiplier}, order ${p.order})`
      : `  privacy    none spent yet (reported at δ = ${delta(s.delta)})`,
  );
  out(`  candidate  ${r.candidateVersion === null ? '-' : `v${r.candidateVersion}`}`);
  if (r.gate) {
    out(`  gate       ${gateText(r)} at ${time(r.gate.at)}`);
    for (const reason of r.gate.reasons) out(`    - ${reason}`);
    const metric = (x: number | null) => (x === null ? '-' : String(Number(x.toPrecision(4))));
    const rows = r.gate.metrics.map((m) => [m.set, String(m.examples), metric(m.baseline), metric(m.candidate)]);
    if (rows.length > 0)
      for (const line of table([['SET', 'EXAMPLES', 'BASELINE', 'CANDIDATE'], ...rows])) out(`    ${line}`);
  } else out('  gate       -');
  if (r.reason !== null) out(`  reason     ${r.reason}`);
}

function triggerText(t: NonNullable<PolicyInfo['policy']>['trigger']): string {
  const parts = [
    t.everyLabels === undefined ? '' : `every ${t.everyLabels} labels`,
    t.onDrift ? 'on drift' : '',
    t.everyHours === undefined ? '' : `every ${t.everyHours} hours`,
  ].filter(Boolean);
  return parts.join(', ') || 'none (rounds open only by hand)';
}

/** `policy get`/`policy set`: the policy and what it is doing. */
export function printPolicy(out: Out, info: PolicyInfo): void {
  const p = info.policy;
  if (!p) {
    out(`${info.model}@${info.alias}: no policy`);
    return;
  }
  out(`${info.model}@${info.alias} policy: ${p.enabled ? 'enabled' : 'disabled'}`);
  out(`  trigger    ${triggerText(p.trigger)}`);
  const settings = Object.entries(p.round).map(([k, value]) => `${k} ${value}`);
  out(`  round      open ${p.roundSeconds} s; ${settings.join(', ') || 'default settings'}`);
  const { minAccuracy, maxDrop, minGain } = p.gate;
  const gate = [
    minAccuracy === undefined ? '' : `accuracy ≥ ${minAccuracy}`,
    `drop ≤ ${maxDrop}`,
    minGain === undefined ? '' : `gain ≥ ${minGain}`,
  ];
  out(`  gate       ${gate.filter(Boolean).join(', ')}`);
  out(`  canary     ${p.canary.percent}%`);
  const pr = p.promotion;
  out(`  promotion  ${pr.minLabelled} labelled each side, alpha ${pr.alpha}, margin ${pr.margin}`);
  const w = info.watching;
  out(`  watching   ${w ? `v${w.version} in canary since ${time(w.since)} (round ${w.roundId})` : '-'}`);
  out(
    `  last round ${info.lastRoundAt === null ? 'none yet' : `${time(info.lastRoundAt)} (labels then: ${info.labelsAtLastRound})`}`,
  );
}

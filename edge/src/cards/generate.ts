import type { CardBody, CardRound } from '../../../protocol/card.ts';
import type { CumulativePrivacy } from '../../../protocol/rounds.ts';
import type { CardFacts } from './read.ts';

/**
 * The JSON card of a version: its manifest's sections with every optional part made explicit
 * (null or empty), joined with what D1 holds (runs, aliases, drift) and the rounds' answers.
 *
 * @example
 * const card = cardBody(facts, { state: 'none' }, { epsilon: 0, delta: 0, rounds: 0 });
 */
export function cardBody(facts: CardFacts, round: CardRound, privacy: CumulativePrivacy): CardBody {
  const { info } = facts;
  const m = info.manifest;
  const lineage = m.lineage ?? {};
  const roles = new Map(m.files.map((f) => [f.path, f.role]));
  const runId = lineage.runId ?? null;
  return {
    overview: {
      name: info.model,
      version: info.version,
      status: info.status,
      createdAt: info.createdAt,
      description: m.description ?? null,
      format: m.format,
    },
    interface: { inputs: m.inputs, outputs: m.outputs, labels: m.labels ?? [] },
    features: m.features.features.map((f) => ({
      name: f.name,
      kind: f.kind,
      source: f.source ?? null,
      method: f.drift?.method ?? null,
      threshold: f.drift?.threshold ?? null,
    })),
    training: m.training
      ? {
          dataset: m.training.dataset,
          samples: m.training.samples,
          split: m.training.split,
          seed: m.training.seed,
          epochs: m.training.epochs ?? null,
          backend: m.training.backend ?? null,
        }
      : null,
    metrics: m.metrics ?? {},
    lineage: {
      parentVersion: lineage.parentVersion ?? null,
      runId,
      data: lineage.data ?? null,
      roundId: lineage.roundId ?? null,
      contributors: lineage.contributors ?? null,
      examples: lineage.examples ?? null,
      epsilon: lineage.epsilon ?? null,
      delta: lineage.delta ?? null,
    },
    runs: {
      runs: facts.runs,
      missingRunId: runId !== null && !facts.runs.some((r) => r.id === runId) ? runId : null,
    },
    round,
    privacy,
    aliases: facts.aliases,
    drift: { reference: m.reference?.path ?? null, ...facts.drift },
    files: info.files.map((f) => ({
      path: f.path,
      role: roles.get(f.path) ?? 'other',
      size: f.size,
      sha256: f.sha256,
    })),
  };
}

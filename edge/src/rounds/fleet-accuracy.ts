import { argmax } from '../../../protocol/argmax.ts';
/** Labelled predictions of one version: how many, how many right. */
export interface Labelled {
  version: number;
  labelled: number;
  correct: number;
}

/** Most feedback rows read per version per check. */
const MAX_ROWS = 20_000;

/**
 * Accuracy of a version on the fleet's labels since `since`: feedback events joined with the
 * predictions they label (the latest label per prediction), right when the prediction's top
 * output is the label. Each client's labels are its own held-out data for the version it was
 * served; no input leaves the device.
 *
 * @example
 * const { labelled, correct } = await fleetAccuracy(env.DB, 'digits', 7, since);
 */
export async function fleetAccuracy(db: D1Database, model: string, version: number, since: number): Promise<Labelled> {
  const { results } = await db
    .prepare(
      `SELECT f.client_id AS client, f.prediction_id AS prediction, f.payload AS feedback, p.payload AS predicted
       FROM events f JOIN events p
         ON p.client_id = f.client_id AND p.prediction_id = f.prediction_id AND p.type = 'prediction'
       WHERE f.model = ?1 AND f.version = ?2 AND f.type = 'feedback' AND f.received_at >= ?3
       ORDER BY f.seq LIMIT ?4`,
    )
    .bind(model, version, since, MAX_ROWS)
    .all<{ client: string; prediction: string; feedback: string; predicted: string }>();
  const latest = new Map<string, boolean>();
  for (const row of results) {
    const label = (JSON.parse(row.feedback) as { label?: unknown }).label;
    const outputs = (JSON.parse(row.predicted) as { outputs?: unknown }).outputs;
    if (typeof label !== 'number' || !Array.isArray(outputs)) continue;
    latest.set(`${row.client}/${row.prediction}`, argmax(outputs as number[]) === label);
  }
  let correct = 0;
  for (const right of latest.values()) if (right) correct++;
  return { version, labelled: latest.size, correct };
}

/** Standard normal upper tail, P(Z > z) (Abramowitz–Stegun 26.2.17, error < 7.5e-8). */
export function upperTail(z: number): number {
  if (z < 0) return 1 - upperTail(-z);
  const t = 1 / (1 + 0.2316419 * z);
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) * poly;
}

/**
 * One-sided two-proportion z-test that the canary is less accurate than stable: the p-value
 * of stable − canary > 0 under a pooled null.
 *
 * @example
 * worseP({ labelled: 60, correct: 40 }, { labelled: 80, correct: 72 }); // ≈ 0.0006
 */
export function worseP(
  canary: Pick<Labelled, 'labelled' | 'correct'>,
  stable: Pick<Labelled, 'labelled' | 'correct'>,
): number {
  const pc = canary.correct / canary.labelled;
  const ps = stable.correct / stable.labelled;
  const pooled = (canary.correct + stable.correct) / (canary.labelled + stable.labelled);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / canary.labelled + 1 / stable.labelled));
  if (se === 0) return ps > pc ? 0 : 1;
  return upperTail((ps - pc) / se);
}

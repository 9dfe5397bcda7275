import { sha256Hex } from '../../../protocol/hash.ts';
import type { GateMetric, PrivacySpent } from '../../../protocol/rounds.ts';
import { buildLayersModel, disposeTfjs } from '../infer/tfjs.ts';
import { putBlobs } from '../storage/blobs.ts';
import { getVersion } from '../storage/registry.ts';
import { readVerifiedBlob } from '../storage/verify.ts';
import { aggregate, type ClientUpdate } from './aggregate.ts';
import { roundBase } from './base.ts';
import { candidateWeights, publishCandidate, roundVersion } from './candidate.ts';
import { accuracyOn, DEFAULT_GATE, decideGate, readHeldOut } from './gate.ts';
import { canaryBlessed, storedPolicy } from './policy.ts';
import { privacySpent } from './privacy.ts';
import { type RoundRow, settingsOf } from './rows.ts';

interface UpdateRow {
  client_id: string;
  examples: number;
  sha256: string;
  r2_key: string;
  [key: string]: SqlStorageValue;
}

/** Deletes a round's update bytes from R2 (they are not kept once the round is aggregated). */
export async function deleteUpdates(env: Env, sql: SqlStorage, roundId: string): Promise<void> {
  const keys = sql.exec<{ r2_key: string }>('SELECT r2_key FROM updates WHERE round_id = ?', roundId).toArray();
  if (keys.length > 0) await env.ARTIFACTS.delete(keys.map((k) => k.r2_key));
}

function finish(sql: SqlStorage, id: string, status: 'done' | 'failed', fields: Record<string, SqlStorageValue>): void {
  const names = Object.keys(fields);
  sql.exec(
    `UPDATE rounds SET status = ?, ${names.map((n) => `${n} = ?`).join(', ')} WHERE id = ?`,
    status,
    ...names.map((n) => fields[n] as SqlStorageValue),
    id,
  );
}

const failure = (error: unknown) =>
  `the edge could not close the round: ${error instanceof Error ? error.message : String(error)}`;

/**
 * Closes a round: aggregates its updates (clipped, averaged, noised), accounts the privacy of
 * the release, builds the candidate's weights (stored as a blob) and measures base and
 * candidate on the base's holdout file. With `evaluationSeconds` the round then waits in
 * `gating` for the contributors' held-out counts ({@link finishRound} decides when they are in
 * or time is up); without, it is decided at once. Fewer updates than `minClients` fail the round
 * and release nothing. Statuses are written before each await, so an update arriving meanwhile
 * finds the round closed.
 */
export async function closeRound(
  env: Env,
  sql: SqlStorage,
  model: string,
  row: RoundRow,
  eligible: number,
): Promise<void> {
  const settings = settingsOf(row);
  sql.exec("UPDATE rounds SET status = 'aggregating', closed_at = ? WHERE id = ?", Date.now(), row.id);
  try {
    if (row.contributors < settings.minClients) {
      finish(sql, row.id, 'failed', {
        reason: `${row.contributors} of the ${settings.minClients} updates needed by the deadline`,
      });
      return;
    }
    const info = await getVersion(env.DB, model, row.base_version);
    if (!info) throw new Error(`base v${row.base_version} is gone`);
    const base = await roundBase(env.ARTIFACTS, info);
    const rows = sql
      .exec<UpdateRow>(
        'SELECT client_id, examples, sha256, r2_key FROM updates WHERE round_id = ? ORDER BY client_id',
        row.id,
      )
      .toArray();
    const updates: ClientUpdate[] = [];
    for (const u of rows) {
      const object = await env.ARTIFACTS.get(u.r2_key);
      if (!object) throw new Error(`update of ${u.client_id} is missing from storage`);
      updates.push({
        clientId: u.client_id,
        delta: new Float32Array(await object.arrayBuffer()),
        examples: u.examples,
      });
    }
    const result = aggregate(updates, settings);
    const q = Math.min(1, result.contributors / Math.max(eligible, result.contributors));
    const privacy: PrivacySpent =
      settings.noiseMultiplier === 0
        ? { epsilon: null, delta: settings.delta, q, noiseMultiplier: 0, order: 0 }
        : {
            ...privacySpent([{ q, noiseMultiplier: settings.noiseMultiplier }], settings.delta),
            q,
            noiseMultiplier: settings.noiseMultiplier,
          };
    sql.exec(
      'UPDATE rounds SET clipped = ?, privacy = ? WHERE id = ?',
      result.clipped,
      JSON.stringify(privacy),
      row.id,
    );
    const baseBytes = await readVerifiedBlob(env.ARTIFACTS, base.weights.sha256, `${model} v${info.version} weights`);
    const weights = candidateWeights(baseBytes, result.delta);
    const sha = await sha256Hex(weights);
    await putBlobs(env.ARTIFACTS, [{ sha256: sha, bytes: weights }]);
    const holdout = await evaluate(env, info, base.modelJson, baseBytes, weights);
    const until = settings.evaluationSeconds > 0 ? Date.now() + settings.evaluationSeconds * 1000 : null;
    sql.exec(
      "UPDATE rounds SET status = 'gating', candidate_sha = ?, holdout = ?, evaluate_until = ? WHERE id = ?",
      sha,
      JSON.stringify(holdout),
      until,
      row.id,
    );
  } catch (error) {
    console.error('round failed', { model, round: row.id, error: String(error) });
    finish(sql, row.id, 'failed', { reason: failure(error) });
    return;
  } finally {
    await deleteUpdates(env, sql, row.id);
  }
  if (settings.evaluationSeconds === 0) await finishRound(env, sql, model, row.id);
}

/**
 * Decides a gating round: the gate reads the holdout metrics and, with fleet evaluation, the
 * contributors' pooled held-out counts (a `fleet` metric; none arrived is a failed check); the
 * candidate becomes a version with its lineage either way, and goes to canary when blessed and
 * the alias has a policy.
 */
export async function finishRound(env: Env, sql: SqlStorage, model: string, id: string): Promise<void> {
  const row = sql.exec<RoundRow>('SELECT * FROM rounds WHERE id = ?', id).toArray()[0];
  if (row?.status !== 'gating' || !row.candidate_sha) return;
  const settings = settingsOf(row);
  sql.exec('UPDATE rounds SET evaluate_until = NULL WHERE id = ?', id);
  try {
    const info = await getVersion(env.DB, model, row.base_version);
    if (!info) throw new Error(`base v${row.base_version} is gone`);
    const base = await roundBase(env.ARTIFACTS, info);
    const weights = await readVerifiedBlob(env.ARTIFACTS, row.candidate_sha, `${model} round ${id} candidate`);
    const holdout = JSON.parse(row.holdout ?? '{"metrics":[],"problem":null}') as {
      metrics: GateMetric[];
      problem: string | null;
    };
    const metrics = [...holdout.metrics];
    const problems = holdout.problem ? [holdout.problem] : [];
    if (settings.evaluationSeconds > 0) {
      const fleet = fleetMetric(sql, id);
      if (fleet) metrics.push(fleet);
      else problems.push(`no contributor reported a held-out evaluation within ${settings.evaluationSeconds} s`);
    }
    const policy = storedPolicy(sql, row.alias);
    const gate = decideGate(metrics, policy?.gate ?? DEFAULT_GATE, problems);
    const names = sql
      .exec<{ client_id: string; sha256: string }>(
        'SELECT client_id, sha256 FROM updates WHERE round_id = ? ORDER BY client_id',
        id,
      )
      .toArray();
    const data = await sha256Hex(new TextEncoder().encode(names.map((u) => `${u.client_id}:${u.sha256}`).join('\n')));
    const privacy = JSON.parse(row.privacy ?? 'null') as PrivacySpent | null;
    // A decision interrupted after publishing finds its version instead of publishing another.
    const version =
      (await roundVersion(env.DB, model, id)) ??
      (await publishCandidate(
        env,
        base,
        info,
        weights,
        {
          roundId: id,
          contributors: row.contributors,
          examples: row.examples,
          epsilon: privacy?.epsilon ?? null,
          delta: settings.delta,
          data: `sha256:${data}`,
        },
        Object.fromEntries(metrics.map((m) => [`${m.set}_accuracy`, m.candidate])),
      ));
    sql.exec('UPDATE rounds SET candidate_version = ?, gate = ? WHERE id = ?', version, JSON.stringify(gate), id);
    const rollout = gate.blessed && policy?.enabled ? await canaryBlessed(env, sql, model, row, version, policy) : null;
    finish(sql, id, 'done', {
      reason: gate.blessed
        ? (rollout ?? 'blessed; no policy on the alias, so no automatic rollout')
        : 'rejected by the gate',
    });
  } catch (error) {
    console.error('round failed', { model, round: id, error: String(error) });
    finish(sql, id, 'failed', { reason: failure(error) });
  }
}

/** The contributors' held-out counts pooled, or null when none came. */
function fleetMetric(sql: SqlStorage, id: string): GateMetric | null {
  const sum = sql
    .exec<{ n: number; examples: number | null; base: number | null; candidate: number | null }>(
      `SELECT COUNT(*) AS n, SUM(examples) AS examples, SUM(base_correct) AS base, SUM(candidate_correct) AS candidate
       FROM evaluations WHERE round_id = ?`,
      id,
    )
    .one();
  if (sum.n === 0 || !sum.examples) return null;
  return {
    set: 'fleet',
    examples: sum.examples,
    baseline: (sum.base ?? 0) / sum.examples,
    candidate: (sum.candidate ?? 0) / sum.examples,
  };
}

/** The candidate's and the base's accuracy on the base's held-out set. */
async function evaluate(
  env: Env,
  info: Parameters<typeof readHeldOut>[1],
  modelJson: Parameters<typeof buildLayersModel>[0],
  baseBytes: Uint8Array<ArrayBuffer>,
  weights: Uint8Array<ArrayBuffer>,
): Promise<{ metrics: GateMetric[]; problem: string | null }> {
  const heldOut = await readHeldOut(env.ARTIFACTS, info);
  if (typeof heldOut === 'string') return { metrics: [], problem: heldOut };
  const label = `${info.model} v${info.version}`;
  const baseline = await buildLayersModel(modelJson, [baseBytes.buffer], label);
  const candidate = await buildLayersModel(modelJson, [weights.buffer], `${label} candidate`);
  try {
    const metric: GateMetric = {
      set: 'holdout',
      examples: heldOut.count,
      baseline: await accuracyOn(baseline, info.manifest, heldOut, label),
      candidate: await accuracyOn(candidate, info.manifest, heldOut, `${label} candidate`),
    };
    return { metrics: [metric], problem: null };
  } finally {
    disposeTfjs(baseline);
    disposeTfjs(candidate);
  }
}

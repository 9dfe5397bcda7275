import { sha256Hex } from '../../../protocol/hash.ts';
import type { FullRoundSettings, GateMetric, PrivacySpent } from '../../../protocol/rounds.ts';
import { buildTfjsModel, disposeTfjs } from '../infer/tfjs.ts';
import { getVersion } from '../storage/registry.ts';
import { readVerifiedBlob } from '../storage/verify.ts';
import { aggregate, type ClientUpdate } from './aggregate.ts';
import { roundBase } from './base.ts';
import { candidateWeights, publishCandidate } from './candidate.ts';
import { accuracyOn, DEFAULT_GATE, decideGate, readHeldOut } from './gate.ts';
import { canaryBlessed, storedPolicy } from './policy.ts';
import { privacySpent } from './privacy.ts';
import type { RoundRow } from './rows.ts';

interface UpdateRow {
  client_id: string;
  examples: number;
  sha256: string;
  r2_key: string;
  [key: string]: SqlStorageValue;
}

/** Deletes a round's update bytes from R2 (they are not kept once the round is over). */
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

/**
 * Closes a round: aggregates its updates (clipped, averaged, noised), accounts the privacy of
 * the release, builds the candidate, gates it on the base's held-out set against the base, and
 * publishes it as a version with its lineage; a blessed candidate goes to canary when the alias
 * has a policy. Fewer updates than `minClients` fail the round and release nothing. Statuses are
 * written before each await, so an update arriving meanwhile finds the round closed.
 */
export async function closeRound(
  env: Env,
  sql: SqlStorage,
  model: string,
  row: RoundRow,
  eligible: number,
): Promise<void> {
  const settings = JSON.parse(row.settings) as FullRoundSettings;
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
      "UPDATE rounds SET status = 'gating', clipped = ?, privacy = ? WHERE id = ?",
      result.clipped,
      JSON.stringify(privacy),
      row.id,
    );
    const baseBytes = await readVerifiedBlob(env.ARTIFACTS, base.weights.sha256, `${model} v${info.version} weights`);
    const weights = candidateWeights(baseBytes, result.delta);
    const policy = storedPolicy(sql, row.alias);
    const { metrics, problem } = await evaluate(env, info, base.modelJson, baseBytes, weights);
    const gate = decideGate(metrics, policy?.gate ?? DEFAULT_GATE, problem);
    const data = await sha256Hex(new TextEncoder().encode(rows.map((u) => `${u.client_id}:${u.sha256}`).join('\n')));
    const version = await publishCandidate(
      env,
      base,
      info,
      weights,
      {
        roundId: row.id,
        contributors: result.contributors,
        examples: result.examples,
        epsilon: privacy.epsilon,
        delta: settings.delta,
        data: `sha256:${data}`,
      },
      Object.fromEntries(metrics.map((m) => [`${m.set}_accuracy`, m.candidate])),
    );
    sql.exec('UPDATE rounds SET candidate_version = ?, gate = ? WHERE id = ?', version, JSON.stringify(gate), row.id);
    const rollout = gate.blessed && policy?.enabled ? await canaryBlessed(env, sql, model, row, version, policy) : null;
    finish(sql, row.id, 'done', {
      reason: gate.blessed
        ? (rollout ?? 'blessed; no policy on the alias, so no automatic rollout')
        : 'rejected by the gate',
    });
  } catch (error) {
    console.error('round failed', { model, round: row.id, error: String(error) });
    finish(sql, row.id, 'failed', {
      reason: `the edge could not close the round: ${error instanceof Error ? error.message : String(error)}`,
    });
  } finally {
    await deleteUpdates(env, sql, row.id);
  }
}

/** The candidate's and the base's accuracy on the base's held-out set. */
async function evaluate(
  env: Env,
  info: Parameters<typeof readHeldOut>[1],
  modelJson: Parameters<typeof buildTfjsModel>[0],
  baseBytes: Uint8Array<ArrayBuffer>,
  weights: Uint8Array<ArrayBuffer>,
): Promise<{ metrics: GateMetric[]; problem: string | null }> {
  const heldOut = await readHeldOut(env.ARTIFACTS, info);
  if (typeof heldOut === 'string') return { metrics: [], problem: heldOut };
  const label = `${info.model} v${info.version}`;
  const baseline = await buildTfjsModel(modelJson, [baseBytes.buffer], label);
  const candidate = await buildTfjsModel(modelJson, [weights.buffer], `${label} candidate`);
  try {
    const metric: GateMetric = {
      set: 'holdout',
      examples: heldOut.count,
      baseline: await accuracyOn(baseline, heldOut, label),
      candidate: await accuracyOn(candidate, heldOut, `${label} candidate`),
    };
    return { metrics: [metric], problem: null };
  } finally {
    disposeTfjs(baseline);
    disposeTfjs(candidate);
  }
}

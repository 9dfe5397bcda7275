import { type FullRoundSettings, type Policy, type PolicyInfo, ROUND_DEFAULTS } from '../../../protocol/rounds.ts';
import { aliasRow, setAlias } from '../storage/aliases.ts';
import { getVersion } from '../storage/registry.ts';
import { setRollout } from '../storage/rollout.ts';
import { roundBase } from './base.ts';
import type { OpenInput } from './coordinator.ts';
import { fleetAccuracy, worseP } from './fleet-accuracy.ts';
import type { RoundRow } from './rows.ts';

interface PolicyRow {
  alias: string;
  policy: string;
  watching: string | null;
  last_round_at: number | null;
  labels_at_last_round: number;
  [key: string]: SqlStorageValue;
}

type Watching = NonNullable<PolicyInfo['watching']>;

const rowOf = (sql: SqlStorage, alias: string): PolicyRow | undefined =>
  sql.exec<PolicyRow>('SELECT * FROM policies WHERE alias = ?', alias).toArray()[0];

/** The alias's policy, or null. */
export function storedPolicy(sql: SqlStorage, alias: string): Policy | null {
  const row = rowOf(sql, alias);
  return row ? (JSON.parse(row.policy) as Policy) : null;
}

/** Stores an alias's policy; a new one counts labels from `labels` (those already held are not new). */
export function storePolicy(sql: SqlStorage, alias: string, policy: Policy, labels: number): void {
  sql.exec(
    `INSERT INTO policies (alias, policy, updated_at, labels_at_last_round) VALUES (?, ?, ?, ?)
     ON CONFLICT (alias) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at`,
    alias,
    JSON.stringify(policy),
    Date.now(),
    labels,
  );
}

export function policyInfo(sql: SqlStorage, model: string, alias: string): PolicyInfo {
  const row = rowOf(sql, alias);
  return {
    model,
    alias,
    policy: row ? (JSON.parse(row.policy) as Policy) : null,
    watching: row?.watching ? (JSON.parse(row.watching) as Watching) : null,
    lastRoundAt: row?.last_round_at ?? null,
    labelsAtLastRound: row?.labels_at_last_round ?? 0,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * Puts a blessed candidate in canary on the round's alias with the policy's share, keeping the
 * alias's shadow, and starts watching it. Returns what it did (the round's reason).
 */
export async function canaryBlessed(
  env: Env,
  sql: SqlStorage,
  model: string,
  round: RoundRow,
  version: number,
  policy: Policy,
): Promise<string> {
  const alias = await aliasRow(env.DB, model, round.alias);
  if (!alias) return `blessed; alias ${round.alias} is gone, so no canary`;
  const percent = policy.canary.percent ?? 10;
  const shadow = alias.shadow_version === null ? {} : { shadow: { version: alias.shadow_version } };
  const done = await setRollout(env.DB, {
    model,
    alias: round.alias,
    rollout: { canary: { version, percent }, ...shadow },
    reason: `policy: round ${round.id} candidate v${version} blessed by the gate; canary ${percent}%`,
    keyId: `policy:${round.alias}`,
    now: Date.now(),
  });
  if (!done) return 'blessed; the alias changed meanwhile, so no canary';
  const watching: Watching = { version, since: Date.now(), roundId: round.id };
  sql.exec('UPDATE policies SET watching = ? WHERE alias = ?', JSON.stringify(watching), round.alias);
  return `blessed; canary ${percent}% on ${round.alias}`;
}

/** Feedback events of the model the edge holds (the "new labels" trigger counts these). */
export async function labelCount(db: D1Database, model: string): Promise<number> {
  const row = await db
    .prepare("SELECT COUNT(*) AS n FROM events WHERE model = ? AND type = 'feedback'")
    .bind(model)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Whether model@version has an unacknowledged drift alert raised after `since` (the last round). */
async function driftedSince(db: D1Database, model: string, version: number, since: number): Promise<boolean> {
  const row = await db
    .prepare(
      'SELECT 1 FROM drift_alerts WHERE model = ? AND version = ? AND acknowledged_at IS NULL AND created_at > ? LIMIT 1',
    )
    .bind(model, version, since)
    .first();
  return row !== null;
}

/**
 * Runs every enabled policy of the model: decides a watched canary (promote or roll back), or
 * opens a round when a trigger holds and no round is live. Each step lands in the alias history
 * with its reason and numbers.
 */
export async function runPolicies(
  env: Env,
  sql: SqlStorage,
  model: string,
  open: (alias: string, input: OpenInput) => Promise<void>,
): Promise<void> {
  for (const row of sql.exec<PolicyRow>('SELECT * FROM policies').toArray()) {
    const policy = JSON.parse(row.policy) as Policy;
    if (!policy.enabled) continue;
    try {
      if (row.watching) await decideCanary(env, sql, model, row.alias, policy, JSON.parse(row.watching) as Watching);
      else await maybeOpen(env, sql, model, row, policy, open);
    } catch (error) {
      console.error('policy step failed', { model, alias: row.alias, error: String(error) });
    }
  }
}

async function decideCanary(
  env: Env,
  sql: SqlStorage,
  model: string,
  aliasName: string,
  policy: Policy,
  watching: Watching,
): Promise<void> {
  const stop = () => sql.exec('UPDATE policies SET watching = NULL WHERE alias = ?', aliasName);
  const alias = await aliasRow(env.DB, model, aliasName);
  if (!alias || alias.canary_version !== watching.version) return void stop(); // moved by hand: the hand wins
  const canary = await fleetAccuracy(env.DB, model, watching.version, watching.since);
  const stable = await fleetAccuracy(env.DB, model, alias.version, watching.since);
  const { minLabelled = 50, alpha = 0.05, margin = 0.02 } = policy.promotion;
  if (canary.labelled < minLabelled || stable.labelled < minLabelled) return;
  const pc = canary.correct / canary.labelled;
  const ps = stable.correct / stable.labelled;
  const p = worseP(canary, stable);
  const numbers = `canary v${canary.version} ${pct(pc)} of ${canary.labelled} labelled vs stable v${stable.version} ${pct(ps)} of ${stable.labelled}; one-sided p(worse) = ${p.toFixed(4)}`;
  const shadow = alias.shadow_version === null ? {} : { shadow: { version: alias.shadow_version } };
  const keyId = `policy:${aliasName}`;
  const now = Date.now();
  if (p <= alpha || pc < ps - margin) {
    await setRollout(env.DB, {
      model,
      alias: aliasName,
      rollout: shadow,
      reason: `policy rollback: ${numbers}`,
      keyId,
      now,
    });
  } else {
    await setAlias(env.DB, {
      model,
      alias: aliasName,
      version: watching.version,
      reason: `policy promotion: ${numbers}`,
      keyId,
      now,
    });
    await setRollout(env.DB, {
      model,
      alias: aliasName,
      rollout: shadow,
      reason: `policy: canary v${watching.version} promoted`,
      keyId,
      now,
    });
  }
  stop();
}

async function maybeOpen(
  env: Env,
  sql: SqlStorage,
  model: string,
  row: PolicyRow,
  policy: Policy,
  open: (alias: string, input: OpenInput) => Promise<void>,
): Promise<void> {
  if (sql.exec("SELECT 1 FROM rounds WHERE status IN ('open', 'aggregating', 'gating')").toArray().length > 0) return;
  const alias = await aliasRow(env.DB, model, row.alias);
  if (!alias) return;
  const now = Date.now();
  const labels = await labelCount(env.DB, model);
  const { everyLabels, onDrift, everyHours } = policy.trigger;
  let why: string | null = null;
  if (everyLabels !== undefined && labels - row.labels_at_last_round >= everyLabels)
    why = `${labels - row.labels_at_last_round} new labels`;
  else if (everyHours !== undefined && (row.last_round_at === null || now - row.last_round_at >= everyHours * 3600_000))
    why = `${everyHours} h schedule`;
  else if (onDrift && (await driftedSince(env.DB, model, alias.version, row.last_round_at ?? 0)))
    why = `drift on v${alias.version}`;
  if (!why) return;
  const info = await getVersion(env.DB, model, alias.version);
  if (!info) return;
  const base = await roundBase(env.ARTIFACTS, info);
  const { durationMs: _, ...defaults } = ROUND_DEFAULTS;
  const settings: FullRoundSettings = { ...defaults, ...policy.round, deadline: now + policy.roundSeconds * 1000 };
  sql.exec('UPDATE policies SET last_round_at = ?, labels_at_last_round = ? WHERE alias = ?', now, labels, row.alias);
  await open(row.alias, {
    alias: row.alias,
    baseVersion: alias.version,
    settings,
    weights: base.weights,
    openedBy: `policy:${row.alias} (${why})`,
  });
}

import { DurableObject } from 'cloudflare:workers';
import { ErrorCode } from '../../../protocol/errors.ts';
import type {
  CumulativePrivacy,
  CurrentRound,
  Evaluation,
  EvaluationReceipt,
  FullRoundSettings,
  Policy,
  PolicyInfo,
  PrivacySpent,
  Round,
  UpdateReceipt,
} from '../../../protocol/rounds.ts';
import { migrate } from '../do/migrate.ts';
import { closeRound, deleteUpdates, finishRound } from './close.ts';
import { candidateFor, evaluationFor, recordEvaluation } from './evaluations.ts';
import { labelCount, policyInfo, runPolicies, storePolicy } from './policy.ts';
import { type Refusal, refuse } from './refusal.ts';
import { cumulativeOf, type RoundRow, type RoundWeights, roundOf } from './rows.ts';
import { ROUND_MIGRATIONS } from './schema.ts';

/** Statuses of a round that is not finished: at most one per model at a time. */
const LIVE = "('open', 'aggregating', 'gating')";

/** How often the alarm runs an enabled policy (its triggers, its canary), in ms. */
export const POLICY_CHECK_MS = 60_000;

export interface OpenInput {
  alias: string;
  baseVersion: number;
  settings: FullRoundSettings;
  weights: RoundWeights;
  openedBy: string;
}

export interface UpdateInput {
  roundId: string;
  clientId: string;
  examples: number;
  /** Labels the device held out of its fit (it is asked to evaluate only when some). */
  heldOut: number;
  sha256: string;
  bytes: ArrayBuffer;
}

const newRoundId = (): string =>
  `r_${Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('')}`;

/**
 * One instance per model (`env.ROUNDS.idFromName(model)`): its federated rounds and its alias
 * policies. A round goes open → aggregating → gating → done, or failed / cancelled; the alarm
 * closes it at its deadline (or once it is full) and runs the policies. Each call names the
 * model, since the object's id is only a hash of it; the alarm reads it from `meta`.
 */
export class RoundCoordinator extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage.sql, ROUND_MIGRATIONS));
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  private remember(model: string): void {
    this.sql.exec('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)', 'model', model);
  }

  private eligible(roundId: string): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM askers WHERE round_id = ?', roundId).one().n;
  }

  private row(id: string): RoundRow | undefined {
    return this.sql.exec<RoundRow>('SELECT * FROM rounds WHERE id = ?', id).toArray()[0];
  }

  /**
   * Opens a round (the route checked the base); refused while another round of the model is live.
   *
   * @example
   * const round = orThrow(await roundsStub(env, 'digits').open('digits', input));
   */
  async open(model: string, input: OpenInput): Promise<Round | Refusal> {
    this.remember(model);
    const live = this.sql.exec<{ id: string }>(`SELECT id FROM rounds WHERE status IN ${LIVE}`).toArray()[0];
    if (live) return refuse(409, ErrorCode.ROUND_OPEN, `round ${live.id} of ${model} is still open; cancel it or wait`);
    const id = newRoundId();
    const now = Date.now();
    this.sql.exec(
      `INSERT INTO rounds (id, alias, base_version, status, settings, weights, opened_at, opened_by)
       VALUES (?, ?, ?, 'open', ?, ?, ?, ?)`,
      id,
      input.alias,
      input.baseVersion,
      JSON.stringify(input.settings),
      JSON.stringify(input.weights),
      now,
      input.openedBy,
    );
    await this.schedule();
    return roundOf(model, this.row(id) as RoundRow, 0);
  }

  /** What a device may do: the open round (counted as eligible) and a round it should evaluate. */
  ask(model: string, clientId: string | null): Omit<CurrentRound, 'v'> {
    return { round: this.current(model, clientId), evaluate: clientId ? evaluationFor(this.sql, clientId) : null };
  }

  /** The open round a device may take part in (null when none); counts the asking client as eligible. */
  current(model: string, clientId: string | null): CurrentRound['round'] {
    const row = this.sql
      .exec<RoundRow>(
        "SELECT * FROM rounds WHERE status = 'open' AND opened_at <= ? ORDER BY opened_at DESC",
        Date.now(),
      )
      .toArray()[0];
    if (!row) return null;
    const settings = JSON.parse(row.settings) as FullRoundSettings;
    if (settings.deadline <= Date.now()) return null;
    if (clientId) this.sql.exec('INSERT OR IGNORE INTO askers (round_id, client_id) VALUES (?, ?)', row.id, clientId);
    return {
      id: row.id,
      model,
      baseVersion: row.base_version,
      deadline: settings.deadline,
      localEpochs: settings.localEpochs,
      learningRate: settings.learningRate,
      clipNorm: settings.clipNorm,
      minExamples: settings.minExamples,
      weights: JSON.parse(row.weights) as RoundWeights,
    };
  }

  /**
   * Takes one client's update (the route checked its length and values): once per (round,
   * client). The same bytes again are a duplicate; other bytes are refused. Its bytes go to R2
   * under their digest before the row names them, so a row never points at missing bytes.
   */
  async submit(model: string, update: UpdateInput): Promise<UpdateReceipt | Refusal> {
    const { roundId, clientId, examples, sha256 } = update;
    const receipt = (duplicate: boolean): UpdateReceipt => ({ v: 1, roundId, clientId, examples, duplicate });
    const row = this.row(roundId);
    if (!row) return refuse(404, ErrorCode.ROUND_NOT_FOUND, `${model} has no round ${roundId}`);
    const sent = (): { sha256: string } | undefined =>
      this.sql
        .exec<{ sha256: string }>('SELECT sha256 FROM updates WHERE round_id = ? AND client_id = ?', roundId, clientId)
        .toArray()[0];
    const before = sent();
    if (before) {
      if (before.sha256 === sha256) return receipt(true);
      return refuse(
        409,
        ErrorCode.DUPLICATE_UPDATE,
        `client ${clientId} already sent a different update to ${roundId}`,
      );
    }
    const settings = JSON.parse(row.settings) as FullRoundSettings;
    const closed = this.closedFor(row, settings);
    if (closed) return refuse(409, ErrorCode.ROUND_CLOSED, `round ${roundId} ${closed}`);
    const key = `rounds/${model}/${roundId}/${clientId}/${sha256}`;
    await this.env.ARTIFACTS.put(key, update.bytes);
    // The object may have taken other calls while R2 wrote: check again before recording.
    const again = sent();
    if (again)
      return again.sha256 === sha256
        ? receipt(true)
        : refuse(409, ErrorCode.DUPLICATE_UPDATE, `client ${clientId} already sent a different update to ${roundId}`);
    const latest = this.row(roundId) as RoundRow;
    const closedNow = this.closedFor(latest, settings);
    if (closedNow) {
      await this.env.ARTIFACTS.delete(key);
      return refuse(409, ErrorCode.ROUND_CLOSED, `round ${roundId} ${closedNow}`);
    }
    this.sql.exec(
      `INSERT INTO updates (round_id, client_id, examples, sha256, bytes, r2_key, received_at, held_out)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      roundId,
      clientId,
      examples,
      sha256,
      update.bytes.byteLength,
      key,
      Date.now(),
      update.heldOut,
    );
    this.sql.exec('INSERT OR IGNORE INTO askers (round_id, client_id) VALUES (?, ?)', roundId, clientId);
    this.sql.exec(
      'UPDATE rounds SET contributors = contributors + 1, examples = examples + ? WHERE id = ?',
      Math.min(examples, settings.exampleCap),
      roundId,
    );
    if (latest.contributors + 1 >= settings.maxClients) await this.ctx.storage.setAlarm(Date.now());
    return receipt(false);
  }

  /** Why a round takes no more updates, or null when it does. */
  private closedFor(row: RoundRow, settings: FullRoundSettings): string | null {
    if (row.status !== 'open') return `is ${row.status}`;
    if (settings.deadline <= Date.now()) return 'is past its deadline';
    if (row.contributors >= settings.maxClients) return `is full (${settings.maxClients} updates)`;
    return null;
  }

  /** The candidate weights' digest for a contributor evaluating a gating round. */
  candidate(model: string, roundId: string, clientId: string): { sha256: string } | Refusal {
    return candidateFor(this.sql, model, roundId, clientId);
  }

  /** A contributor's held-out counts; the last one to come decides the round at once. */
  async evaluation(
    model: string,
    roundId: string,
    clientId: string,
    body: Evaluation,
  ): Promise<EvaluationReceipt | Refusal> {
    const answer = recordEvaluation(this.sql, model, roundId, clientId, body);
    if ('refused' in answer) return answer;
    const { complete, ...receipt } = answer;
    if (complete) await this.ctx.storage.setAlarm(Date.now());
    return receipt;
  }

  /** Cancels an open round: its updates are deleted and nothing is released. */
  async cancel(model: string, id: string, keyId: string): Promise<Round | Refusal> {
    const row = this.row(id);
    if (!row) return refuse(404, ErrorCode.ROUND_NOT_FOUND, `${model} has no round ${id}`);
    if (row.status !== 'open')
      return refuse(409, ErrorCode.ROUND_CLOSED, `round ${id} is ${row.status}; only an open round can be cancelled`);
    this.sql.exec(
      "UPDATE rounds SET status = 'cancelled', closed_at = ?, reason = ? WHERE id = ?",
      Date.now(),
      `cancelled by key ${keyId}`,
      id,
    );
    await deleteUpdates(this.env, this.sql, id);
    return roundOf(model, this.row(id) as RoundRow, this.eligible(id));
  }

  /** A round of `model`, or null. */
  get(model: string, id: string): Round | null {
    const row = this.row(id);
    return row ? roundOf(model, row, this.eligible(id)) : null;
  }

  /** Every round of `model`, newest first, with the privacy the model has spent. */
  list(model: string): { rounds: Round[]; privacy: CumulativePrivacy } {
    const rows = this.sql.exec<RoundRow>('SELECT * FROM rounds ORDER BY opened_at DESC, id').toArray();
    return { rounds: rows.map((row) => roundOf(model, row, this.eligible(row.id))), privacy: this.privacy() };
  }

  /** (ε, δ) over every round that released an aggregate (a candidate), composed. */
  privacy(): CumulativePrivacy {
    const rows = this.sql
      .exec<{ privacy: string }>('SELECT privacy FROM rounds WHERE privacy IS NOT NULL ORDER BY opened_at')
      .toArray();
    return cumulativeOf(rows.map((row) => JSON.parse(row.privacy) as PrivacySpent));
  }

  /** An alias's policy and what it is doing. */
  policy(model: string, alias: string): PolicyInfo {
    return policyInfo(this.sql, model, alias);
  }

  /** Sets (or replaces) an alias's policy; the alarm runs it from now on. */
  async setPolicy(model: string, alias: string, policy: Policy): Promise<PolicyInfo> {
    this.remember(model);
    storePolicy(this.sql, alias, policy, await labelCount(this.env.DB, model));
    await this.schedule();
    return policyInfo(this.sql, model, alias);
  }

  /**
   * Closes rounds that are due, decides gating rounds whose evaluations are in or whose time is
   * up, runs the policies, and schedules the next alarm. Alarms run one at a time and are
   * retried when interrupted, so a round found half-closed here was interrupted: its close (the
   * updates are deleted only once it is done) or its decision runs again.
   */
  override async alarm(): Promise<void> {
    const model = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'model'").toArray()[0]?.value;
    if (!model) return;
    const now = Date.now();
    const rounds = (where: string) => this.sql.exec<RoundRow>(`SELECT * FROM rounds WHERE ${where}`).toArray();
    for (const row of rounds("status = 'aggregating'")) {
      await closeRound(this.env, this.sql, model, row, this.eligible(row.id));
    }
    for (const row of rounds("status = 'open'")) {
      const settings = JSON.parse(row.settings) as FullRoundSettings;
      if (settings.deadline <= now || row.contributors >= settings.maxClients) {
        await closeRound(this.env, this.sql, model, row, this.eligible(row.id));
      }
    }
    for (const row of rounds("status = 'gating' AND candidate_sha IS NOT NULL")) {
      const { reported, asked } = this.sql
        .exec<{ reported: number; asked: number }>(
          `SELECT (SELECT COUNT(*) FROM evaluations WHERE round_id = ?1) AS reported,
             (SELECT COUNT(*) FROM updates WHERE round_id = ?1 AND held_out > 0) AS asked`,
          row.id,
        )
        .one();
      const due = row.evaluate_until === null || row.evaluate_until <= now || reported >= asked;
      if (due) await finishRound(this.env, this.sql, model, row.id);
    }
    await runPolicies(this.env, this.sql, model, (alias, input) => this.openFromPolicy(model, alias, input));
    await this.schedule();
  }

  private async openFromPolicy(model: string, alias: string, input: OpenInput): Promise<void> {
    const opened = await this.open(model, input);
    if ('refused' in opened) console.warn('policy could not open a round', { model, alias, ...opened.refused });
  }

  /** The next alarm: the earliest open deadline, and a policy check while a policy is enabled. */
  private async schedule(): Promise<void> {
    const times: number[] = [];
    for (const row of this.sql.exec<{ settings: string }>("SELECT settings FROM rounds WHERE status = 'open'")) {
      times.push((JSON.parse(row.settings) as FullRoundSettings).deadline);
    }
    for (const row of this.sql.exec<{ until: number }>(
      "SELECT evaluate_until AS until FROM rounds WHERE status = 'gating' AND evaluate_until IS NOT NULL",
    )) {
      times.push(row.until);
    }
    if (this.sql.exec('SELECT 1 FROM policies WHERE json_extract(policy, ?) = 1', '$.enabled').toArray().length > 0) {
      times.push(Date.now() + policyCheckMs(this.env));
    }
    if (times.length === 0) return;
    const next = Math.min(...times);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next || current < Date.now()) await this.ctx.storage.setAlarm(next);
  }
}

/** EDGELOOP_POLICY_CHECK_SECONDS, or a minute. */
function policyCheckMs(env: Env): number {
  const seconds = Number(env.EDGELOOP_POLICY_CHECK_SECONDS);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : POLICY_CHECK_MS;
}

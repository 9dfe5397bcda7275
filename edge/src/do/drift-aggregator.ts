import { DurableObject } from 'cloudflare:workers';
import { EdgeloopError } from '../../../protocol/errors.ts';
import {
  type DriftAlert,
  type DriftReport,
  driftReport,
  mergeProfiles,
  type Profile,
  WINDOW_MS,
} from '../../../protocol/profile/index.ts';
import { insertDriftAlert, upsertDriftStats } from '../storage/drift.ts';
import { type DriftContext, loadDriftContext } from '../storage/reference.ts';
import { DRIFT_SCHEMA } from './drift-schema.ts';
import { MAX_WEBHOOK_ATTEMPTS, postWebhook, retryDelay } from './webhook.ts';

/** The model version an aggregator serves; sent with each call (its id is only a hash of it). */
export interface DriftTarget {
  model: string;
  version: number;
}

/** A validated profile for one hour window, as the Worker passes it on. */
export interface IngestItem {
  id: string;
  window: number;
  profile: Profile;
}

export type IngestOutcome =
  | { status: 'accepted' | 'duplicate' | 'capped' }
  /** The profile cannot be merged with the window's (e.g. another sketch size): nothing stored. */
  | { status: 'rejected'; code: string; message: string };

export interface MergedProfile {
  profile: Profile | null;
  windows: number;
  clients: number;
}

/** An alert as stored, with its webhook delivery state. */
export interface AlertState {
  window: number;
  alert: DriftAlert;
  delivery: 'none' | 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
}

const DEFAULT_CLIENT_CAP = 2000;

function clientCap(env: Env): number {
  const cap = Number(env.EDGELOOP_DRIFT_CLIENT_CAP);
  return Number.isFinite(cap) && cap > 0 ? cap : DEFAULT_CLIENT_CAP;
}

function webhookUrl(env: Env): string | null {
  const url: string = env.EDGELOOP_DRIFT_WEBHOOK ?? '';
  return url.trim() || null;
}

const parseProfile = (json: string): Profile => JSON.parse(json) as Profile;

/**
 * One instance per model@version (`env.DRIFT.idFromName("digits@3")`, DESIGN §5): merges the
 * clients' profiles into hour windows in its SQLite storage, answers drift queries, raises
 * an alert once per drifted window and delivers it to the webhook from `alarm()`.
 */
export class DriftAggregator extends DurableObject<Env> {
  // Versions are immutable, so their manifest and reference can be kept for the object's life.
  #context: DriftContext | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(DRIFT_SCHEMA);
    });
  }

  /**
   * Merges a client's profiles, each into its hour window, in one transaction: a profile id
   * already received is a duplicate (whatever it carries now); one that would take the
   * client's rows in its window past the cap is recorded as capped and not merged. Then checks
   * the windows that changed for drift.
   *
   * @example
   * const outcomes = await stub.ingest({ model: 'digits', version: 3 }, 'c_1', [{ id, window, profile }]);
   */
  async ingest(target: DriftTarget, clientId: string, items: readonly IngestItem[]): Promise<IngestOutcome[]> {
    const now = Date.now();
    const cap = clientCap(this.env);
    const touched = new Set<number>();
    const outcomes = this.ctx.storage.transactionSync(() =>
      items.map((item) => this.#ingestOne(clientId, item, cap, now, touched)),
    );
    if (touched.size > 0) {
      try {
        await this.#checkDrift(
          target,
          [...touched].sort((a, b) => a - b),
          now,
        );
      } catch (error) {
        // The profiles are stored; the next ingest into these windows checks them again.
        console.error('drift check failed', `${target.model}@${target.version}`, error);
      }
    }
    return outcomes;
  }

  #ingestOne(clientId: string, item: IngestItem, cap: number, now: number, touched: Set<number>): IngestOutcome {
    const sql = this.ctx.storage.sql;
    const seen = sql.exec('SELECT 1 FROM received WHERE client_id = ? AND profile_id = ?', clientId, item.id);
    if (seen.toArray().length > 0) return { status: 'duplicate' };
    const rows = item.profile.count;
    const used =
      sql
        .exec<{ rows: number }>(
          'SELECT rows FROM contributions WHERE window = ? AND client_id = ?',
          item.window,
          clientId,
        )
        .toArray()[0]?.rows ?? 0;
    const received = (status: 'accepted' | 'capped') =>
      sql.exec(
        'INSERT INTO received (client_id, profile_id, window, rows, status, received_at) VALUES (?, ?, ?, ?, ?, ?)',
        clientId,
        item.id,
        item.window,
        rows,
        status,
        now,
      );
    if (used + rows > cap) {
      received('capped');
      return { status: 'capped' };
    }
    const stored = sql
      .exec<{ profile: string }>('SELECT profile FROM windows WHERE window = ?', item.window)
      .toArray()[0];
    let merged: Profile;
    try {
      merged = stored ? mergeProfiles(parseProfile(stored.profile), item.profile) : item.profile;
    } catch (error) {
      if (!(error instanceof EdgeloopError)) throw error;
      return { status: 'rejected', code: error.code, message: error.message.replace(/^\[[A-Z_]+\] /, '') };
    }
    sql.exec(
      `INSERT INTO windows (window, profile, updated_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (window) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at`,
      item.window,
      JSON.stringify(merged),
      now,
    );
    sql.exec(
      `INSERT INTO contributions (window, client_id, rows) VALUES (?1, ?2, ?3)
       ON CONFLICT (window, client_id) DO UPDATE SET rows = rows + excluded.rows`,
      item.window,
      clientId,
      rows,
    );
    received('accepted');
    touched.add(item.window);
    return { status: 'accepted' };
  }

  /**
   * The windows with `from <= window < to` merged into one profile (null when none has data),
   * with how many windows and distinct clients contributed.
   *
   * @example
   * const { profile, windows, clients } = await stub.merged(from, to);
   */
  merged(from: number, to: number): MergedProfile {
    let profile: Profile | null = null;
    const rows = this.windows(from, to);
    for (const row of rows) profile = profile ? mergeProfiles(profile, row.profile) : row.profile;
    const clients = this.ctx.storage.sql
      .exec<{ n: number }>(
        'SELECT COUNT(DISTINCT client_id) AS n FROM contributions WHERE window >= ? AND window < ?',
        from,
        to,
      )
      .one().n;
    return { profile, windows: rows.length, clients };
  }

  /**
   * The merged profile of each window with `from <= window < to` that has data, oldest first.
   *
   * @example
   * for (const { window, profile } of await stub.windows(from, to)) chart(window, profile);
   */
  windows(from: number, to: number): { window: number; profile: Profile }[] {
    return this.ctx.storage.sql
      .exec<{ window: number; profile: string }>(
        'SELECT window, profile FROM windows WHERE window >= ? AND window < ? ORDER BY window',
        from,
        to,
      )
      .toArray()
      .map((row) => ({ window: row.window, profile: parseProfile(row.profile) }));
  }

  /**
   * The alerts raised so far, oldest window first, with their delivery state.
   *
   * @example
   * const [first] = await stub.alerts(); // first.delivery === 'delivered'
   */
  alerts(): AlertState[] {
    return this.ctx.storage.sql
      .exec<{ window: number; payload: string; delivery: string; attempts: number; last_error: string | null }>(
        'SELECT window, payload, delivery, attempts, last_error FROM alerts ORDER BY window',
      )
      .toArray()
      .map((row) => ({
        window: row.window,
        alert: JSON.parse(row.payload) as DriftAlert,
        delivery: row.delivery as AlertState['delivery'],
        attempts: row.attempts,
        lastError: row.last_error,
      }));
  }

  /** Delivers due alerts to the webhook; failures are retried with backoff, then marked failed. */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const url = webhookUrl(this.env);
    const due = sql
      .exec<{ window: number; payload: string; attempts: number }>(
        "SELECT window, payload, attempts FROM alerts WHERE delivery = 'pending' AND next_attempt_at <= ? ORDER BY window",
        Date.now(),
      )
      .toArray();
    for (const alert of due) {
      const error = url ? await postWebhook(url, alert.payload) : 'no webhook configured';
      const attempts = alert.attempts + 1;
      const [delivery, next] =
        error === null
          ? ['delivered', null]
          : attempts >= MAX_WEBHOOK_ATTEMPTS
            ? ['failed', null]
            : ['pending', Date.now() + retryDelay(attempts)];
      sql.exec(
        `UPDATE alerts SET delivery = ?1, attempts = ?2, next_attempt_at = ?3, last_error = ?4,
           delivered_at = CASE WHEN ?1 = 'delivered' THEN ?5 ELSE delivered_at END
         WHERE window = ?6`,
        delivery,
        attempts,
        next,
        error,
        Date.now(),
        alert.window,
      );
    }
    const next = sql
      .exec<{ next: number | null }>("SELECT MIN(next_attempt_at) AS next FROM alerts WHERE delivery = 'pending'")
      .one().next;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  async #driftContext(target: DriftTarget): Promise<DriftContext | null> {
    if (this.#context) return this.#context;
    const loaded = await loadDriftContext(this.env, target.model, target.version);
    if (loaded) this.#context = loaded;
    return loaded;
  }

  /** Judges each changed window against the reference; raises alerts; stores the latest verdicts. */
  async #checkDrift(target: DriftTarget, windows: readonly number[], now: number): Promise<void> {
    const context = await this.#driftContext(target);
    if (!context?.reference) return;
    let latest: { window: number; report: DriftReport } | undefined;
    for (const window of windows) {
      const row = this.ctx.storage.sql
        .exec<{ profile: string }>('SELECT profile FROM windows WHERE window = ?', window)
        .toArray()[0];
      if (!row) continue;
      const report = driftReport(context.reference, parseProfile(row.profile), {
        model: target.model,
        version: target.version,
        window: { from: window, to: window + WINDOW_MS },
        features: context.manifest.features.features,
      });
      latest = { window, report };
      const drifted = report.features.filter((f) => f.drifted).map((f) => f.name);
      if (drifted.length > 0 || report.dataset.drifted) await this.#raise(target, window, drifted, report, now);
    }
    if (latest) await upsertDriftStats(this.env.DB, { ...target, ...latest, now });
  }

  /** Records a window's alert once: D1 first (idempotent), then the DO row that decides delivery. */
  async #raise(target: DriftTarget, window: number, drifted: string[], report: DriftReport, now: number) {
    const sql = this.ctx.storage.sql;
    if (sql.exec('SELECT 1 FROM alerts WHERE window = ?', window).toArray().length > 0) return;
    await insertDriftAlert(this.env.DB, { ...target, window, drifted, report, now });
    const alert: DriftAlert = {
      v: 1,
      type: 'drift',
      model: target.model,
      version: target.version,
      window: { from: window, to: window + WINDOW_MS },
      drifted,
      dataset: report.dataset,
      at: now,
    };
    const webhook = webhookUrl(this.env);
    const inserted = sql.exec(
      `INSERT OR IGNORE INTO alerts (window, payload, delivery, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)`,
      window,
      JSON.stringify(alert),
      webhook ? 'pending' : 'none',
      webhook ? now : null,
      now,
    );
    // Another call may have raised it while this one awaited D1.
    if (inserted.rowsWritten > 0 && webhook) await this.ctx.storage.setAlarm(now);
  }
}

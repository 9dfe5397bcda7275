import { DurableObject } from 'cloudflare:workers';
import { EdgeloopError } from '../../../protocol/errors.ts';
import {
  type DriftAlert,
  type DriftBasis,
  type DriftReport,
  driftReport,
  mergeProfiles,
  type Profile,
  WINDOW_MS,
} from '../../../protocol/profile/index.ts';
import { type EstablishedWindow, judgeRange, LOOKBACK_WINDOWS, MIN_JUDGED_ROWS } from '../drift/judge.ts';
import { contributorStanding, probationHours, type Standing, weaker } from '../drift/standing.ts';
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

/** The established rows of a range: what it is judged on before the thin-range rule. */
export interface MergedProfile {
  profile: Profile | null;
  windows: number;
  clients: number;
}

/** What a range is judged on (null when it is too small to judge) and why. */
export interface Judged {
  profile: Profile | null;
  basis: DriftBasis;
}

/** What erasing a client took out of one version's windows: its profiles received and their rows. */
export interface Erased {
  profiles: number;
  rows: number;
}

type HeldBack = DriftBasis['heldBack'];
const noneHeld = (): HeldBack => ({
  probation: { rows: 0, contributors: 0 },
  unverified: { rows: 0, contributors: 0 },
});

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
 * an alert once per drifted window and delivers it to the webhook from `alarm()`. Each
 * contributor's rows in a window are also kept as one partial profile with its standing
 * (drift/standing.ts): only established partials make up the window that is judged, and a
 * window can be rebuilt from its partials without an erased client.
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
   * Merges a contributor's profiles (a device's client id, `edge:<clientId>` or `edge:api`),
   * each into its hour window, in one transaction: a profile id already received is a duplicate
   * (whatever it carries now); one that would take the contributor's rows in its window past the
   * cap is recorded as capped and not merged. Rows of a contributor that is not established are
   * kept in its partial but left out of the judged window. Then checks the judged windows that
   * changed for drift.
   *
   * @example
   * const outcomes = await stub.ingest({ model: 'digits', version: 3 }, 'c_1', [{ id, window, profile }]);
   */
  async ingest(target: DriftTarget, contributor: string, items: readonly IngestItem[]): Promise<IngestOutcome[]> {
    const now = Date.now();
    const who = await contributorStanding(this.env, target, contributor, now);
    const cap = clientCap(this.env);
    const touched = new Set<number>();
    const outcomes = this.ctx.storage.transactionSync(() =>
      items.map((item) => this.#ingestOne(who.contributor, who.standing, item, cap, now, touched)),
    );
    if (touched.size > 0) await this.#recheck(target, [...touched], now);
    return outcomes;
  }

  #ingestOne(
    clientId: string,
    standing: Standing,
    item: IngestItem,
    cap: number,
    now: number,
    touched: Set<number>,
  ): IngestOutcome {
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
    const part = sql
      .exec<{ standing: Standing; profile: string }>(
        'SELECT standing, profile FROM partials WHERE window = ? AND client_id = ?',
        item.window,
        clientId,
      )
      .toArray()[0];
    const kept = part ? weaker(part.standing, standing) : standing;
    let partial: Profile;
    let judged: Profile | null = null;
    try {
      partial = part ? mergeProfiles(parseProfile(part.profile), item.profile) : item.profile;
      if (kept === 'established') {
        const stored = sql
          .exec<{ profile: string }>('SELECT profile FROM windows WHERE window = ?', item.window)
          .toArray()[0];
        judged = stored ? mergeProfiles(parseProfile(stored.profile), item.profile) : item.profile;
      }
    } catch (error) {
      if (!(error instanceof EdgeloopError)) throw error;
      return { status: 'rejected', code: error.code, message: error.message.replace(/^\[[A-Z_]+\] /, '') };
    }
    sql.exec(
      `INSERT INTO partials (window, client_id, standing, rows, profile) VALUES (?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (window, client_id) DO UPDATE SET
         standing = excluded.standing, rows = excluded.rows, profile = excluded.profile`,
      item.window,
      clientId,
      kept,
      partial.count,
      JSON.stringify(partial),
    );
    if (judged) {
      this.#storeWindow(item.window, judged, now);
      touched.add(item.window);
    } else if (part?.standing === 'established') {
      // No longer established (revoked mid-window): the window is judged without it.
      this.#rebuild(item.window, now);
      touched.add(item.window);
    }
    sql.exec(
      `INSERT INTO contributions (window, client_id, rows) VALUES (?1, ?2, ?3)
       ON CONFLICT (window, client_id) DO UPDATE SET rows = rows + excluded.rows`,
      item.window,
      clientId,
      rows,
    );
    received('accepted');
    return { status: 'accepted' };
  }

  #storeWindow(window: number, profile: Profile, now: number): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO windows (window, profile, updated_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (window) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at`,
      window,
      JSON.stringify(profile),
      now,
    );
  }

  /** Re-merges a window's judged profile from its established partials (none: the window has no judged rows). */
  #rebuild(window: number, now: number): void {
    const sql = this.ctx.storage.sql;
    const parts = sql
      .exec<{ profile: string }>(
        "SELECT profile FROM partials WHERE window = ? AND standing = 'established' ORDER BY client_id",
        window,
      )
      .toArray()
      .map((row) => parseProfile(row.profile));
    const [first, ...rest] = parts;
    if (!first) {
      sql.exec('DELETE FROM windows WHERE window = ?', window);
      return;
    }
    this.#storeWindow(
      window,
      rest.reduce((merged, p) => mergeProfiles(merged, p), first),
      now,
    );
  }

  /**
   * Removes a client's drift rows from this version, as a device (`clientId`) and as edge
   * inference (`edge:<clientId>`): its received profile ids, cap counts and partials, then
   * rebuilds the judged windows it was part of from the remaining partials and judges them
   * again. Afterwards each window is as if the client had never sent anything: exactly so for
   * the counts; the sketches are re-merged per client, so with several remaining clients whose
   * profiles arrived interleaved they equal the never-sent ones up to sketch error. Windows
   * merged before partials were kept hold no per-client parts and keep what they have. Erasing
   * twice removes nothing the second time.
   *
   * @example
   * const { profiles, rows } = await stub.erase({ model: 'digits', version: 3 }, 'c_42');
   */
  async erase(target: DriftTarget, clientId: string): Promise<Erased> {
    const now = Date.now();
    const names = [clientId, `edge:${clientId}`];
    const { erased, rebuilt } = this.ctx.storage.transactionSync(() => {
      const sql = this.ctx.storage.sql;
      const profiles = sql
        .exec<{ n: number }>('SELECT COUNT(*) AS n FROM received WHERE client_id IN (?, ?)', ...names)
        .one().n;
      const parts = sql
        .exec<{ window: number; standing: Standing; rows: number }>(
          'SELECT window, standing, rows FROM partials WHERE client_id IN (?, ?)',
          ...names,
        )
        .toArray();
      for (const table of ['received', 'contributions', 'partials']) {
        sql.exec(`DELETE FROM ${table} WHERE client_id IN (?, ?)`, ...names);
      }
      const rebuilt = [...new Set(parts.filter((p) => p.standing === 'established').map((p) => p.window))];
      for (const window of rebuilt) this.#rebuild(window, now);
      return { erased: { profiles, rows: parts.reduce((sum, p) => sum + p.rows, 0) }, rebuilt };
    });
    if (rebuilt.length > 0) await this.#recheck(target, rebuilt, now);
    return erased;
  }

  /** The judged windows of [from, to), with the earlier ones a thin range may be judged with. */
  #established(from: number, to: number): EstablishedWindow[] {
    return this.ctx.storage.sql
      .exec<{ window: number; profile: string }>(
        'SELECT window, profile FROM windows WHERE window >= ? AND window < ? ORDER BY window',
        from - LOOKBACK_WINDOWS * WINDOW_MS,
        to,
      )
      .toArray()
      .map((row) => ({ window: row.window, profile: parseProfile(row.profile) }));
  }

  #basis(judged: ReturnType<typeof judgeRange>, heldBack: HeldBack): DriftBasis {
    const { judged: how, span, rows } = judged;
    return { judged: how, span, rows, minRows: MIN_JUDGED_ROWS, heldBack, probationHours: probationHours(this.env) };
  }

  /**
   * The established rows of the windows with `from <= window < to` merged into one profile
   * (null when none has any), with how many windows and established clients they came from.
   *
   * @example
   * const { profile, windows, clients } = await stub.merged(from, to);
   */
  merged(from: number, to: number): MergedProfile {
    let profile: Profile | null = null;
    const rows = this.#established(from, to).filter((w) => w.window >= from);
    for (const row of rows) profile = profile ? mergeProfiles(profile, row.profile) : row.profile;
    // Contributions without a partial are from windows merged before partials were kept: judged then.
    const clients = this.ctx.storage.sql
      .exec<{ n: number }>(
        `SELECT COUNT(DISTINCT c.client_id) AS n FROM contributions c
         LEFT JOIN partials p ON p.window = c.window AND p.client_id = c.client_id
         WHERE c.window >= ? AND c.window < ? AND COALESCE(p.standing, 'established') = 'established'`,
        from,
        to,
      )
      .one().n;
    return { profile, windows: rows.length, clients };
  }

  /**
   * What the range [from, to) is judged on (drift/judge.ts) and the rows held back from it.
   *
   * @example
   * const { profile, basis } = await stub.judge(from, to); // basis.judged === 'alone'
   */
  judge(from: number, to: number): Judged {
    const judged = judgeRange(this.#established(from, to), from, to);
    const heldBack = noneHeld();
    const rows = this.ctx.storage.sql.exec<{ standing: 'probation' | 'unverified'; rows: number; n: number }>(
      `SELECT standing, SUM(rows) AS rows, COUNT(DISTINCT client_id) AS n FROM partials
       WHERE window >= ? AND window < ? AND standing <> 'established' GROUP BY standing`,
      from,
      to,
    );
    for (const row of rows) heldBack[row.standing] = { rows: row.rows, contributors: row.n };
    return { profile: judged.profile, basis: this.#basis(judged, heldBack) };
  }

  /**
   * Each window with `from <= window < to` that has rows (judged or held back), oldest first,
   * with what it is judged on.
   *
   * @example
   * for (const { window, profile, basis } of await stub.windows(from, to)) chart(window, profile, basis);
   */
  windows(from: number, to: number): (Judged & { window: number })[] {
    const established = this.#established(from, to);
    const held = new Map<number, HeldBack>();
    const rows = this.ctx.storage.sql.exec<{ window: number; standing: Standing; rows: number; n: number }>(
      `SELECT window, standing, SUM(rows) AS rows, COUNT(client_id) AS n FROM partials
       WHERE window >= ? AND window < ? GROUP BY window, standing ORDER BY window`,
      from,
      to,
    );
    for (const row of rows) {
      const heldBack = held.get(row.window) ?? noneHeld();
      if (row.standing !== 'established') heldBack[row.standing] = { rows: row.rows, contributors: row.n };
      held.set(row.window, heldBack);
    }
    return [...held].map(([window, heldBack]) => {
      const judged = judgeRange(established, window, window + WINDOW_MS);
      return { window, profile: judged.profile, basis: this.#basis(judged, heldBack) };
    });
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

  /** Checks windows whose judged rows changed; a failure is logged, as the rows are stored and the next change checks again. */
  async #recheck(target: DriftTarget, windows: number[], now: number): Promise<void> {
    try {
      await this.#checkDrift(
        target,
        windows.sort((a, b) => a - b),
        now,
      );
    } catch (error) {
      console.error('drift check failed', `${target.model}@${target.version}`, error);
    }
  }

  /**
   * Judges each changed window against the reference (a thin one with the hours before it, a
   * too small one not at all); raises alerts; stores the latest verdicts.
   */
  async #checkDrift(target: DriftTarget, windows: readonly number[], now: number): Promise<void> {
    const context = await this.#driftContext(target);
    if (!context?.reference) return;
    let latest: { window: number; report: DriftReport } | undefined;
    for (const window of windows) {
      const { profile } = judgeRange(this.#established(window, window + WINDOW_MS), window, window + WINDOW_MS);
      if (!profile) continue;
      const report = driftReport(context.reference, profile, {
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

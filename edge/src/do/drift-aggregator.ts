import { DurableObject } from 'cloudflare:workers';
import {
  type DriftBasis,
  type DriftReport,
  driftReport,
  mergeProfiles,
  type Profile,
  WINDOW_MS,
} from '../../../protocol/profile/index.ts';
import { judgeRange, MIN_JUDGED_ROWS } from '../drift/judge.ts';
import { contributorStanding, probationHours, type Standing } from '../drift/standing.ts';
import { upsertDriftStats } from '../storage/drift.ts';
import { type DriftContext, loadDriftContext } from '../storage/reference.ts';
import { type AlertState, deliverAlerts, listAlerts, raiseAlert } from './drift-alerts.ts';
import { DRIFT_MIGRATIONS } from './drift-schema.ts';
import {
  type Erased,
  eraseContributors,
  establishedWindows,
  type IngestItem,
  type IngestOutcome,
  ingestProfile,
} from './drift-windows.ts';
import { migrate } from './migrate.ts';

export type { AlertState } from './drift-alerts.ts';
export type { Erased, IngestItem, IngestOutcome } from './drift-windows.ts';

/** The model version an aggregator serves; sent with each call (its id is only a hash of it). */
export interface DriftTarget {
  model: string;
  version: number;
}

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

type HeldBack = DriftBasis['heldBack'];
const noneHeld = (): HeldBack => ({
  probation: { rows: 0, contributors: 0 },
  unverified: { rows: 0, contributors: 0 },
});

const DEFAULT_CLIENT_CAP = 2000;

function clientCap(env: Env): number {
  const cap = Number(env.EDGELOOP_DRIFT_CLIENT_CAP);
  return Number.isFinite(cap) && cap > 0 ? cap : DEFAULT_CLIENT_CAP;
}

/**
 * One instance per model@version (`env.DRIFT.idFromName("digits@3")`, drift/stub.ts): merges the
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
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage.sql, DRIFT_MIGRATIONS));
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
      items.map((item) => ingestProfile(this.ctx.storage.sql, who.contributor, who.standing, item, cap, now, touched)),
    );
    if (touched.size > 0) await this.#recheck(target, [...touched], now);
    return outcomes;
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
    const { erased, rebuilt } = this.ctx.storage.transactionSync(() =>
      eraseContributors(this.ctx.storage.sql, [clientId, `edge:${clientId}`], now),
    );
    if (rebuilt.length > 0) await this.#recheck(target, rebuilt, now);
    return erased;
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
    const rows = establishedWindows(this.ctx.storage.sql, from, to).filter((w) => w.window >= from);
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
    const judged = judgeRange(establishedWindows(this.ctx.storage.sql, from, to), from, to);
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
    const established = establishedWindows(this.ctx.storage.sql, from, to);
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
    return listAlerts(this.ctx.storage.sql);
  }

  /** Delivers due alerts to the webhook; failures are retried with backoff, then marked failed. */
  override async alarm(): Promise<void> {
    await deliverAlerts(this.ctx.storage, this.env);
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
      const { profile } = judgeRange(
        establishedWindows(this.ctx.storage.sql, window, window + WINDOW_MS),
        window,
        window + WINDOW_MS,
      );
      if (!profile) continue;
      const report = driftReport(context.reference, profile, {
        model: target.model,
        version: target.version,
        window: { from: window, to: window + WINDOW_MS },
        features: context.manifest.features.features,
      });
      latest = { window, report };
      const drifted = report.features.filter((f) => f.drifted).map((f) => f.name);
      if (drifted.length > 0 || report.dataset.drifted)
        await raiseAlert(this.ctx.storage, this.env, target, window, drifted, report, now);
    }
    if (latest) await upsertDriftStats(this.env.DB, { ...target, ...latest, now });
  }
}

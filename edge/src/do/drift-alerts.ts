import type { DriftAlert, DriftReport } from '../../../protocol/profile/index.ts';
import { WINDOW_MS } from '../../../protocol/profile/index.ts';
import { insertDriftAlert } from '../storage/drift.ts';
import { MAX_WEBHOOK_ATTEMPTS, postWebhook, retryDelay } from './webhook.ts';

// The DriftAggregator's alerts (its `alerts` table): raised once per drifted window, delivered
// to the webhook from the object's alarm with backoff.

/** An alert as stored, with its webhook delivery state. */
export interface AlertState {
  window: number;
  alert: DriftAlert;
  delivery: 'none' | 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
}

function webhookUrl(env: Env): string | null {
  const url: string = env.EDGELOOP_DRIFT_WEBHOOK ?? '';
  return url.trim() || null;
}

/**
 * The alerts raised so far, oldest window first, with their delivery state.
 *
 * @example
 * const [first] = listAlerts(ctx.storage.sql); // first.delivery === 'delivered'
 */
export function listAlerts(sql: SqlStorage): AlertState[] {
  return sql
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

/**
 * Records a window's alert once: D1 first (idempotent), then the object's row that decides
 * delivery; sets the alarm when there is a webhook to deliver to.
 *
 * @example
 * await raiseAlert(ctx.storage, env, { model: 'digits', version: 3 }, window, ['ink'], report, Date.now());
 */
export async function raiseAlert(
  storage: DurableObjectStorage,
  env: Env,
  target: { model: string; version: number },
  window: number,
  drifted: string[],
  report: DriftReport,
  now: number,
): Promise<void> {
  const sql = storage.sql;
  if (sql.exec('SELECT 1 FROM alerts WHERE window = ?', window).toArray().length > 0) return;
  await insertDriftAlert(env.DB, { ...target, window, drifted, report, now });
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
  const webhook = webhookUrl(env);
  const inserted = sql.exec(
    `INSERT OR IGNORE INTO alerts (window, payload, delivery, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)`,
    window,
    JSON.stringify(alert),
    webhook ? 'pending' : 'none',
    webhook ? now : null,
    now,
  );
  // Another call may have raised it while this one awaited D1.
  if (inserted.rowsWritten > 0 && webhook) await storage.setAlarm(now);
}

/**
 * Delivers the alerts that are due to the webhook; failures are retried with backoff, then
 * marked failed. Sets the alarm for the next retry, if any.
 *
 * @example
 * override async alarm() { await deliverAlerts(this.ctx.storage, this.env); }
 */
export async function deliverAlerts(storage: DurableObjectStorage, env: Env): Promise<void> {
  const sql = storage.sql;
  const url = webhookUrl(env);
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
  if (next !== null) await storage.setAlarm(next);
}

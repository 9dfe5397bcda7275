import type { Context, MiddlewareHandler } from 'hono';
import { units } from '../../../models/explain/cost.ts';
import { ErrorCode } from '../../../protocol/errors.ts';
import type { AppEnv } from '../app-env.ts';
import { tokenClient } from '../auth/client-token.ts';
import { grants } from '../auth/scopes.ts';
import type { Bucket, RateDecision } from '../do/rate-limiter.ts';
import { ApiError } from './api-error.ts';

// Generous enough that the e2e suite (a few hundred requests a minute from one address) is
// never limited; wrangler.toml vars override them.
const DEFAULT_CLIENT_PER_MIN = 600;
const DEFAULT_IP_PER_MIN = 3000;
/**
 * Inference work units (infer/cost.ts) per minute: one client may spend ~6 s of tfjs-cpu a
 * minute (2,800 digits, or 2 explained at 256 steps), one address twice that.
 */
const DEFAULT_WORK_CLIENT_PER_MIN = 2_000_000_000;
const DEFAULT_WORK_IP_PER_MIN = 4_000_000_000;
/**
 * Client identities one address may be issued per hour: a device registers once, but `npm run
 * bench` registers ~210 from one address (bench/drift.ts: 200) and the e2e suite dozens.
 */
const DEFAULT_CLIENTS_IP_PER_HOUR = 300;
const HOUR_MS = 3_600_000;
// Requests without CF-Connecting-IP (tests in workerd; `wrangler dev` sets the client's own) share one bucket.
const LOCAL_IP = 'local';

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

const ipOf = (c: Context<AppEnv>) => c.req.header('cf-connecting-ip') ?? LOCAL_IP;
const limited = (c: Context<AppEnv>) => !grants(c.var.caller.scopes, 'publish');
const bucketOf = (env: Env, key: string) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));

function tooMany(refused: RateDecision[], what: string): ApiError {
  const retryAfter = Math.max(...refused.map((d) => d.retryAfter));
  return new ApiError(429, ErrorCode.RATE_LIMITED, `${what}; retry in ${retryAfter} s`, {
    'Retry-After': String(retryAfter),
  });
}

/**
 * Middleware (after `requireScope`) limiting client traffic per client and per address, with a
 * {@link RateLimiter} Durable Object per key: `EDGELOOP_RATE_CLIENT_PER_MIN` for the client of
 * a valid `Edgeloop-Client-Token` (a wrong token is refused later by the handler, and counts
 * only against the address), `EDGELOOP_RATE_IP_PER_MIN` per `CF-Connecting-IP`. Keys with
 * the publish scope (operators, CI) are not limited. 429 RATE_LIMITED with `Retry-After`.
 *
 * @example
 * app.post('/v1/events', requireScope('client'), rateLimit(), handler);
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (limited(c)) {
      const clientId = await tokenClient(c);
      const decisions = await Promise.all([
        bucketOf(c.env, `ip:${ipOf(c)}`).take({ limit: positive(c.env.EDGELOOP_RATE_IP_PER_MIN, DEFAULT_IP_PER_MIN) }),
        clientId
          ? bucketOf(c.env, `client:${clientId}`).take({
              limit: positive(c.env.EDGELOOP_RATE_CLIENT_PER_MIN, DEFAULT_CLIENT_PER_MIN),
            })
          : null,
      ]);
      const refused = decisions.filter((d): d is RateDecision => d !== null && !d.allowed);
      if (refused.length > 0) throw tooMany(refused, 'too many requests');
    }
    await next();
  };
}

/** The work buckets a caller spends from: its client's (with a valid token) and its address's; none for publish keys. */
async function workBuckets(c: Context<AppEnv>): Promise<{ key: string; bucket: Bucket; who: string }[]> {
  if (!limited(c)) return [];
  const clientId = await tokenClient(c);
  const ip = { limit: positive(c.env.EDGELOOP_WORK_IP_PER_MIN, DEFAULT_WORK_IP_PER_MIN) };
  return [
    ...(clientId
      ? [
          {
            key: `work:client:${clientId}`,
            bucket: { limit: positive(c.env.EDGELOOP_WORK_CLIENT_PER_MIN, DEFAULT_WORK_CLIENT_PER_MIN) },
            who: 'this client',
          },
        ]
      : []),
    { key: `work:ip:${ipOf(c)}`, bucket: ip, who: 'this address' },
  ];
}

/**
 * The most work a request of this caller could ever be granted: the smallest of its work
 * buckets (`EDGELOOP_WORK_CLIENT_PER_MIN`, `EDGELOOP_WORK_IP_PER_MIN`); Infinity for publish keys.
 * A request over it is refused as too costly rather than told to wait forever.
 *
 * @example
 * const budget = Math.min(workPerRequest(c.env), await workCeiling(c));
 */
export async function workCeiling(c: Context<AppEnv>): Promise<number> {
  return Math.min(...(await workBuckets(c)).map((b) => b.bucket.limit));
}

/**
 * Work buckets that refused in this isolate, and until when (ms): a client told to retry in N s
 * that asks sooner is refused before its body is read (reading a batch costs more than refusing
 * it). Per isolate: another isolate reads such a request once and asks the bucket.
 */
const closed = new Map<string, number>();
/** Entries kept before expired ones are dropped. */
const MAX_CLOSED = 1000;

function closeUntil(key: string, until: number): void {
  if (closed.size >= MAX_CLOSED) {
    const now = Date.now();
    for (const [k, at] of closed) if (at <= now) closed.delete(k);
  }
  closed.set(key, until);
}

/**
 * Middleware (after `requireScope`, before the body is read) refusing inference while a work
 * bucket of the caller that refused it in this isolate has not had the time its 429 gave
 * (`Retry-After`) to refill: 429 RATE_LIMITED with the time left. Publish keys pass.
 *
 * @example
 * app.post('/v2/models/:model/infer', requireScope('read', 'client'), workGate(), rateLimit(), handler);
 */
export function workGate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const now = Date.now();
    const left = (await workBuckets(c)).map((b) => (closed.get(b.key) ?? 0) - now);
    const wait = Math.max(0, ...left);
    if (wait > 0) {
      const retryAfter = Math.ceil(wait / 1000);
      throw tooMany(
        [{ allowed: false, retryAfter }],
        'too much inference work: wait for the Retry-After of the last 429',
      );
    }
    await next();
  };
}

/**
 * Charges `work` units (infer/cost.ts) to the caller's work buckets, its client's first, then
 * its address's (refunding the client's if the address has none left), so requests refused for
 * a client do not drain its address. Publish keys are not charged. 429 RATE_LIMITED with
 * `Retry-After` when a bucket holds less than `work`.
 *
 * @example
 * await chargeWork(c, requestWork(perExample, 16, null).total); // before the model runs
 */
export async function chargeWork(c: Context<AppEnv>, work: number): Promise<void> {
  const taken: { key: string; bucket: Bucket }[] = [];
  for (const { key, bucket, who } of await workBuckets(c)) {
    const decision = await bucketOf(c.env, key).take(bucket, work);
    if (!decision.allowed) {
      await Promise.all(taken.map((t) => bucketOf(c.env, t.key).refund(t.bucket, work)));
      closeUntil(key, Date.now() + decision.retryAfter * 1000);
      throw tooMany(
        [decision],
        `too much inference work: this request costs ${units(work)} work units and ${who} may spend ${units(bucket.limit)} a minute`,
      );
    }
    taken.push({ key, bucket });
  }
}

/**
 * Whom a request's model work is done for, as the isolate's lane takes turns (infer/lane.ts):
 * its client (a valid token), else its key for publish keys, else its address.
 *
 * @example
 * await runTfjsVersion(env.ARTIFACTS, info, inputs, await workOwner(c));
 */
export async function workOwner(c: Context<AppEnv>): Promise<string> {
  const clientId = await tokenClient(c);
  if (clientId) return `client:${clientId}`;
  return limited(c) ? `ip:${ipOf(c)}` : `key:${c.var.caller.keyId}`;
}

/**
 * Middleware (after `requireScope`) limiting the client identities issued to one address
 * (`CF-Connecting-IP`; local requests share one) to `EDGELOOP_CLIENTS_IP_PER_HOUR`: a revoked
 * or erased device can register again, but not without end. Only issued identities count (a
 * refused registration gives its token back). Publish keys are not limited. 429 RATE_LIMITED
 * with `Retry-After`.
 *
 * @example
 * app.post('/v1/clients', requireScope('client'), rateLimit(), limitIssuance(), handler);
 */
export function limitIssuance(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!limited(c)) return next();
    const stub = bucketOf(c.env, `issue:ip:${ipOf(c)}`);
    const bucket = {
      limit: positive(c.env.EDGELOOP_CLIENTS_IP_PER_HOUR, DEFAULT_CLIENTS_IP_PER_HOUR),
      windowMs: HOUR_MS,
    };
    const decision = await stub.take(bucket);
    if (!decision.allowed) {
      throw tooMany([decision], `this address was issued ${bucket.limit} client identities in the last hour`);
    }
    await next();
    if (c.res.status !== 201) await stub.refund(bucket, 1);
  };
}

// The real edge (edge/src/index.ts) in workerd, started from Node with Miniflare, for tests that
// must see real D1/DO behaviour. The worker's tsconfig has no Node types: Node is reached through
// the small typed bridge below (as in node-files.ts).
import { build } from 'esbuild';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import type { Manifest } from '../../protocol/manifest.ts';

interface SqliteDb {
  prepare(sql: string): {
    get(...values: unknown[]): Record<string, unknown> | undefined;
    all(...values: unknown[]): Record<string, unknown>[];
  };
  close(): void;
}
interface NodeBridge {
  fs: {
    mkdtempSync(prefix: string): string;
    readdirSync(path: string, options?: { recursive: boolean }): string[];
    readFileSync(path: string, encoding: 'utf8'): string;
    rmSync(path: string, options: { recursive: boolean; force: boolean }): void;
  };
  os: { tmpdir(): string };
  sqlite: { DatabaseSync: new (path: string, options?: { readOnly: boolean }) => SqliteDb };
}
const { process } = globalThis as unknown as {
  process: { getBuiltinModule<K extends keyof NodeBridge>(id: `node:${K}`): NodeBridge[K] };
};
const fs = process.getBuiltinModule('node:fs');
const os = process.getBuiltinModule('node:os');
const sqlite = process.getBuiltinModule('node:sqlite');

const ROOT = new URL('../../', import.meta.url).pathname;

export const ADMIN_KEY = 'faults-admin-key';
export const CLIENT_KEY = 'faults-client-key';

/** One client's row and its applied events, read straight from D1. */
export interface StoredClient {
  maxSeq: number;
  events: { seq: number; eventId: string; payload: string }[];
  rejected: number;
}

/** What the DriftAggregators hold for one client, read straight from their SQLite files. */
export interface StoredDrift {
  /** Every profile id received from the client (once each: the table's key), oldest window first. */
  received: { profileId: string; window: number; rows: number; status: string }[];
  /**
   * Per window the client sent to: the rows merged from it (`contributions`), and the merged
   * profile's count beside the rows all clients contributed, which a profile merged twice breaks.
   */
  windows: { window: number; clientRows: number; mergedCount: number; contributedRows: number }[];
}

interface D1Like {
  prepare(sql: string): { run(): Promise<unknown> };
}

/** Bundles the edge once (esbuild, as wrangler would), without the static assets. */
async function bundle(): Promise<string> {
  const out = await build({
    entryPoints: [`${ROOT}edge/src/index.ts`],
    bundle: true,
    format: 'esm',
    // As wrangler bundles: tfjs's packages name Node built-ins in their "browser" field as false.
    platform: 'browser',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    write: false,
    logLevel: 'silent',
  });
  const file = out.outputFiles[0];
  if (!file) throw new Error('esbuild produced no bundle');
  return file.text;
}

/** The D1 migrations in order, each split into statements. */
function migrations(): string[] {
  const dir = `${ROOT}edge/migrations/`;
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .flatMap((f) =>
      fs
        .readFileSync(dir + f, 'utf8')
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('--'))
        .join('\n')
        .split(';')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    );
}

/**
 * The edge in workerd on 127.0.0.1 and a free port, its D1/R2/DO state persisted in a temp dir
 * so `restart()` (dispose, start again) keeps everything, as a redeployed or restarted server.
 */
export class RealEdge {
  readonly #script: string;
  readonly #dir: string;
  #mf: Miniflare | null = null;
  #url = '';
  #sqlite: SqliteDb | null = null;

  private constructor(script: string, dir: string) {
    this.#script = script;
    this.#dir = dir;
  }

  static async start(): Promise<RealEdge> {
    const edge = new RealEdge(await bundle(), fs.mkdtempSync(`${os.tmpdir()}/edgeloop-faults-`));
    await edge.#boot();
    const db = await edge.#db();
    for (const sql of migrations()) await db.prepare(sql).run();
    return edge;
  }

  /** The edge's base URL (changes on restart: a new free port). */
  get url(): string {
    return this.#url;
  }

  async #boot(): Promise<void> {
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        host: '127.0.0.1',
        port: 0,
        modules: true,
        script: this.#script,
        compatibilityDate: '2026-08-01',
        resourcePersistencePath: this.#dir,
        d1Databases: { DB: 'edgeloop' },
        r2Buckets: { ARTIFACTS: 'edgeloop-artifacts' },
        durableObjects: {
          DRIFT: { className: 'DriftAggregator', useSQLite: true },
          RATE_LIMITER: { className: 'RateLimiter', useSQLite: true },
          ROUNDS: { className: 'RoundCoordinator', useSQLite: true },
        },
        bindings: {
          EDGELOOP_VERSION: '0.1.0',
          EDGELOOP_CORS_ORIGINS: '',
          EDGELOOP_DRIFT_CLIENT_CAP: '2000',
          EDGELOOP_DRIFT_WEBHOOK: '',
          // Delivery is under test here, not trust: every registered client's rows are judged at once.
          EDGELOOP_DRIFT_PROBATION_HOURS: '0',
          // The schedules register hundreds of clients from one (local) address.
          EDGELOOP_CLIENTS_IP_PER_HOUR: '1000000',
          EDGELOOP_RATE_CLIENT_PER_MIN: '1000000',
          EDGELOOP_RATE_IP_PER_MIN: '1000000',
          EDGELOOP_POLICY_CHECK_SECONDS: '60',
          EDGELOOP_ADMIN_KEY: ADMIN_KEY,
          EDGELOOP_CLIENT_KEY: CLIENT_KEY,
          EDGELOOP_TOKEN_SECRET: 'faults-token-secret',
        },
        outboundService: () => new Response(null, { status: 204 }),
      }),
    );
    this.#url = (await mf.ready).href.replace(/\/$/, '');
    this.#mf = mf;
  }

  async #db(): Promise<D1Like> {
    if (!this.#mf) throw new Error('edge not running');
    return (await this.#mf.getD1Database('DB')) as unknown as D1Like;
  }

  /** Stops workerd and starts it again on the same persisted state. */
  async restart(): Promise<void> {
    this.#sqlite?.close();
    this.#sqlite = null;
    await this.#mf?.dispose();
    this.#mf = null;
    await this.#boot();
  }

  /**
   * What D1 holds for one client (null: not registered), read from the SQLite file workerd
   * persists (node:sqlite, one query; far cheaper than a D1 call through Miniflare's proxy).
   * Call it when no request is in flight.
   */
  client(clientId: string): StoredClient | null {
    this.#sqlite ??= new sqlite.DatabaseSync(this.#d1File());
    const row = this.#sqlite
      .prepare(
        `SELECT c.max_seq AS maxSeq,
           (SELECT json_group_array(json_object('seq', seq, 'eventId', event_id, 'payload', payload))
              FROM (SELECT seq, event_id, payload FROM events WHERE client_id = ?1 ORDER BY seq)) AS events,
           (SELECT count(*) FROM rejected_events WHERE client_id = ?1) AS rejected
         FROM clients AS c WHERE c.client_id = ?1`,
      )
      .get(clientId) as { maxSeq: number; events: string; rejected: number } | undefined;
    if (!row) return null;
    return { maxSeq: row.maxSeq, events: JSON.parse(row.events) as StoredClient['events'], rejected: row.rejected };
  }

  /**
   * Publishes `manifest` with `files` (path → content) as the next version of its model,
   * through the HTTP API with the admin key; returns the version number.
   */
  async publish(manifest: Manifest, files: Record<string, string>): Promise<number> {
    const form = new FormData();
    form.append('manifest', JSON.stringify(manifest));
    for (const [path, text] of Object.entries(files)) form.append(path, new Blob([text]), path);
    const reply = await fetch(`${this.#url}/v1/models/${manifest.name}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: form,
    });
    if (reply.status !== 201) throw new Error(`publish ${manifest.name}: HTTP ${reply.status} ${await reply.text()}`);
    return ((await reply.json()) as { version: number }).version;
  }

  /**
   * What every DriftAggregator holds for one client (one SQLite file per model version that
   * received profiles), read with node:sqlite like `client()`. Call it when no request is in flight.
   */
  drift(clientId: string): StoredDrift {
    const drift: StoredDrift = { received: [], windows: [] };
    for (const file of this.#files((f) => f.includes('DriftAggregator') && !f.endsWith('metadata.sqlite'))) {
      // Opened per call: the files appear when a version first gets profiles, and are few.
      const db = new sqlite.DatabaseSync(file, { readOnly: true });
      try {
        drift.received.push(
          ...(db
            .prepare(
              `SELECT profile_id AS profileId, window, rows, status FROM received
               WHERE client_id = ? ORDER BY window, profile_id`,
            )
            .all(clientId) as StoredDrift['received']),
        );
        drift.windows.push(
          ...(db
            .prepare(
              `SELECT c.window, c.rows AS clientRows,
                 (SELECT json_extract(w.profile, '$.count') FROM windows AS w WHERE w.window = c.window) AS mergedCount,
                 (SELECT sum(a.rows) FROM contributions AS a WHERE a.window = c.window) AS contributedRows
               FROM contributions AS c WHERE c.client_id = ? ORDER BY c.window`,
            )
            .all(clientId) as StoredDrift['windows']),
        );
      } finally {
        db.close();
      }
    }
    return drift;
  }

  /** The SQLite files under the persistence dir that `keep` accepts, as full paths. */
  #files(keep: (file: string) => boolean): string[] {
    return fs
      .readdirSync(this.#dir, { recursive: true })
      .filter((f) => f.endsWith('.sqlite') && keep(f))
      .map((f) => `${this.#dir}/${f}`);
  }

  /** The D1 database's SQLite file under the persistence dir (the one with a `clients` table). */
  #d1File(): string {
    const files = this.#files((f) => !f.includes('DurableObject'));
    for (const file of files) {
      const db = new sqlite.DatabaseSync(file);
      const found = db.prepare("SELECT 1 AS ok FROM sqlite_master WHERE name = 'rejected_events'").get();
      db.close();
      if (found) return file;
    }
    throw new Error(`no D1 database under ${this.#dir}: ${files.join(', ')}`);
  }

  /** Stops workerd and deletes the persisted state. */
  async stop(): Promise<void> {
    this.#sqlite?.close();
    this.#sqlite = null;
    await this.#mf?.dispose();
    this.#mf = null;
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}

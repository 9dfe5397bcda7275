import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DRIFT_MIGRATIONS } from '../src/do/drift-schema.ts';
import { migrate } from '../src/do/migrate.ts';
import { driftStub } from '../src/drift/stub.ts';
import { ROUND_MIGRATIONS } from '../src/rounds/schema.ts';
import { roundsStub } from '../src/rounds/stub.ts';

const steps = (sql: SqlStorage) =>
  sql
    .exec<{ id: number }>('SELECT id FROM migrations ORDER BY id')
    .toArray()
    .map((r) => r.id);
const tables = (sql: SqlStorage) =>
  sql
    .exec<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name",
    )
    .toArray()
    .map((r) => r.name);

describe('Durable Object migrations', () => {
  it('a new DriftAggregator and RoundCoordinator record every step', async () => {
    await runInDurableObject(driftStub(env, 'mig-new', 1), (_, state) => {
      expect(steps(state.storage.sql)).toEqual(DRIFT_MIGRATIONS.map((_, i) => i + 1));
      expect(tables(state.storage.sql)).toEqual([
        'alerts',
        'contributions',
        'migrations',
        'partials',
        'received',
        'windows',
      ]);
    });
    await runInDurableObject(roundsStub(env, 'mig-new'), (_, state) => {
      expect(steps(state.storage.sql)).toEqual(ROUND_MIGRATIONS.map((_, i) => i + 1));
    });
  });

  it('brings a DriftAggregator made by the schema before recorded steps up to date, keeping its windows', async () => {
    await runInDurableObject(driftStub(env, 'mig-old', 1), (_, state) => {
      const { sql } = state.storage;
      // What such an object holds: step 1's tables, a merged window, no partials and no record.
      for (const table of tables(sql)) sql.exec(`DROP TABLE ${table}`);
      sql.exec(DRIFT_MIGRATIONS[0] as string);
      const profile = JSON.stringify({ v: 1, count: 12 });
      sql.exec('INSERT INTO windows (window, profile, updated_at) VALUES (?, ?, ?)', 3_600_000, profile, 1);
      expect(tables(sql)).not.toContain('partials');

      migrate(sql, DRIFT_MIGRATIONS);
      expect(steps(sql)).toEqual([1, 2]);
      const partials = sql.exec('SELECT window, client_id, standing, rows FROM partials').toArray();
      expect(partials).toEqual([{ window: 3_600_000, client_id: 'legacy:merged', standing: 'established', rows: 12 }]);
      expect(sql.exec('SELECT profile FROM windows').one()).toEqual({ profile });

      // Opened again: nothing left to apply, nothing applied twice.
      migrate(sql, DRIFT_MIGRATIONS);
      expect(steps(sql)).toEqual([1, 2]);
      expect(sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM partials').one().n).toBe(1);
    });
  });

  it('applies only the steps a RoundCoordinator has not seen', async () => {
    await runInDurableObject(roundsStub(env, 'mig-rounds'), (_, state) => {
      const { sql } = state.storage;
      for (const table of tables(sql)) sql.exec(`DROP TABLE ${table}`);
      // An object made when there were two steps.
      migrate(sql, ROUND_MIGRATIONS.slice(0, 2));
      expect(steps(sql)).toEqual([1, 2]);
      const columns = () =>
        sql
          .exec<{ name: string }>("SELECT name FROM pragma_table_info('updates')")
          .toArray()
          .map((c) => c.name);
      expect(columns()).not.toContain('held_out');
      migrate(sql, ROUND_MIGRATIONS);
      expect(steps(sql)).toEqual(ROUND_MIGRATIONS.map((_, i) => i + 1));
      expect(columns()).toContain('held_out');
    });
  });
});

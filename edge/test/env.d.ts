// Test-only bindings added in edge/vitest.config.ts.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    /** A number that varies the hostile-input suites' seeds (empty: the fixed ones). */
    HOSTILE_SEED: string;
  }
}

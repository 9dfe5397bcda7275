import { defineConfig } from 'vitest/config';

// Two projects: `unit` (protocol, models, cli, worker logic on tfjs-cpu with fake-indexeddb, in
// Node) and `edge` (inside workerd with real D1/R2/DO, configured in edge/vitest.config.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: [
            'protocol/**/*.test.ts',
            'models/**/*.test.ts',
            'worker/**/*.test.ts',
            'web/**/*.test.ts',
            'cli/**/*.test.ts',
          ],
          testTimeout: 120_000,
        },
      },
      'edge/vitest.config.ts',
    ],
  },
});

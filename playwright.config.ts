import { defineConfig } from '@playwright/test';

// Lets setOffline and context.route reach service workers too (Chromium), so
// background-sync.spec.ts can hold the app's service worker offline.
process.env.PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS = '1';

/**
 * The e2e suite runs against the server `npm start` runs, on its own port and empty state.
 * EDGELOOP_E2E_PORT moves it (and its webhook receiver, one port up) beside another run.
 */
export const E2E_PORT = Number(process.env.EDGELOOP_E2E_PORT ?? 8788);
export const E2E_URL = `http://127.0.0.1:${E2E_PORT}`;
/** Where drift.spec.ts listens for the edge's drift alerts (EDGELOOP_DRIFT_WEBHOOK). */
export const E2E_WEBHOOK_PORT = E2E_PORT + 2;
const state = `.wrangler/e2e-state-${E2E_PORT}`;

export default defineConfig({
  testDir: 'playwright',
  timeout: 240_000,
  expect: { timeout: 30_000 },
  workers: 1,
  retries: 0,
  forbidOnly: true,
  outputDir: 'test-results',
  use: {
    baseURL: E2E_URL,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's Chromium; nothing is downloaded. SwiftShader provides the WebGPU adapter.
      executablePath: '/usr/bin/chromium',
      args: [
        '--enable-unsafe-webgpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `rm -rf ${state} && node scripts/start.ts`,
    url: `${E2E_URL}/healthz`,
    env: {
      PORT: String(E2E_PORT),
      EDGELOOP_STATE: state,
      EDGELOOP_DRIFT_WEBHOOK: `http://127.0.0.1:${E2E_WEBHOOK_PORT}/drift`,
      // The suite's browser clients register minutes before their profiles must be judged.
      EDGELOOP_DRIFT_PROBATION_HOURS: '0',
    },
    timeout: 300_000,
    reuseExistingServer: false,
    // start.ts runs wrangler in its own process group and stops it on SIGTERM; a SIGKILL
    // (Playwright's default) would leave workerd running.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
    stdout: 'ignore',
    stderr: 'pipe',
  },
});

// `npm start`: build the app, apply D1 migrations, serve edge + app (and the ORT Worker) locally, publish the
// demo model when the registry is empty, print the URL and keys. Ctrl-C stops everything.
import { fileURLToPath } from 'node:url';
import { EdgeClient } from '../cli/lib/client.ts';
import { publishDir } from '../cli/lib/publish.ts';
import { ensureDevVars } from './lib/dev-vars.ts';
import { runBin, startBin, stopGroup, waitForHealthy, wranglerEnv } from './lib/run.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const port = Number(process.env.PORT ?? 8787);
// Tests point this elsewhere to start from an empty registry without touching dev state.
const state = process.env.EDGELOOP_STATE ?? '.wrangler/state';
const endpoint = `http://127.0.0.1:${port}`;

process.chdir(root);
const keys = ensureDevVars(root);
const env = wranglerEnv(root);

if (process.env.EDGELOOP_SKIP_BUILD !== '1') {
  await runBin('vite', ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn']);
  // The script tag (/edgeloop.js), built after the app: it starts the worker vite emitted.
  await runBin('node', ['scripts/build-embed.ts']);
}
await runBin('wrangler', ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state], env);

// Drift alert settings given in the environment override wrangler.toml's [vars] (e2e tests
// point the webhook at a local receiver).
const passVars = ['EDGELOOP_DRIFT_WEBHOOK', 'EDGELOOP_DRIFT_CLIENT_CAP', 'EDGELOOP_DRIFT_PROBATION_HOURS'].flatMap(
  (name) => {
    const value = process.env[name];
    return value === undefined ? [] : ['--var', `${name}:${value}`];
  },
);
// Both Workers in one `wrangler dev`: the edge (the first config, served on the port) and the
// ONNX Runtime Worker it reaches through its `ORT` service binding (edge/ort/wrangler.toml).
const edge = startBin(
  'wrangler',
  [
    'dev',
    '-c',
    'wrangler.toml',
    '-c',
    'edge/ort/wrangler.toml',
    '--local',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--persist-to',
    state,
    '--show-interactive-dev-session=false',
    ...passVars,
  ],
  env,
);
const stop = () => {
  stopGroup(edge);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
edge.on('exit', (code) => {
  console.error(`edge stopped (code ${code})`);
  process.exit(code ?? 1);
});

try {
  await waitForHealthy(`${endpoint}/healthz`, edge);
  const registry = new EdgeClient(endpoint, keys.adminKey);
  const { models } = await registry.listModels();
  if (!models.some((m) => m.name === 'digits')) {
    // With its ONNX export, so /v2 can run it on either runtime (parameters.runtime "onnx").
    const published = await publishDir(registry, `${root}/models/digits/artifacts`, undefined, { onnx: true });
    await registry.setAlias('digits', 'production', published.version, 'demo model published by npm start');
    console.log(`published digits v${published.version} (${published.files.length} files) as digits@production`);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  stopGroup(edge);
  process.exit(1);
}

console.log(`
Edgeloop is running at ${endpoint}
  app         ${endpoint}/
  admin key   ${keys.adminKey}
  client key  ${keys.clientKey}
  (local keys from .dev.vars; Ctrl-C stops)
`);

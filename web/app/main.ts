import { EdgeloopError } from '../../protocol/errors.ts';
import { registerServiceWorker } from '../sdk/env.ts';
import { createClient, type EdgeloopClient } from '../sdk/index.ts';
import { createActions } from './actions.ts';
import { loadAppConfig } from './app-config.ts';
import { byId } from './dom.ts';
import { createDrawPad } from './draw-pad.ts';
import { createErrorView } from './error-view.ts';
import { createHelpQueue } from './help-queue.ts';
import { createPredictionView } from './prediction-view.ts';
import { createStatusView } from './status-view.ts';
import { installTestHook } from './test-hook.ts';
import { createTrainView } from './train-view.ts';
import './styles.css';

// The demo app: wires the views to one SDK client. Everything heavy runs in the worker.

const STATUS_REFRESH_MS = 2000;

const buttons = {
  predict: byId('predict', HTMLButtonElement),
  clear: byId('clear', HTMLButtonElement),
  correct: byId('correct', HTMLButtonElement),
  train: byId('train', HTMLButtonElement),
  revert: byId('revert', HTMLButtonElement),
  suggest: byId('suggest', HTMLButtonElement),
  sync: byId('sync', HTMLButtonElement),
  erase: byId('erase', HTMLButtonElement),
};
const correctLabel = byId('correct-label', HTMLSelectElement);
const feedbackNote = byId('feedback-note', HTMLElement);
const pad = createDrawPad(byId('pad', HTMLCanvasElement));
const errors = createErrorView(byId('error', HTMLElement));
const prediction = createPredictionView(
  byId('prediction-label', HTMLElement),
  byId('prediction-probs', HTMLOListElement),
);
const statusView = createStatusView({
  backend: byId('status-backend', HTMLElement),
  version: byId('status-version', HTMLElement),
  personal: byId('status-personal', HTMLElement),
  pending: byId('status-pending', HTMLElement),
  lastSync: byId('status-last-sync', HTMLElement),
  federated: byId('status-federated', HTMLElement),
});
const training = createTrainView({
  bar: byId('train-bar', HTMLProgressElement),
  progressText: byId('train-progress-text', HTMLElement),
  result: byId('train-result', HTMLElement),
});

let client: EdgeloopClient | null = null;
let lastPredictionId: string | null = null;

function connected(): EdgeloopClient {
  if (!client) throw new EdgeloopError('NOT_INITIALIZED', 'the app is still starting');
  return client;
}

const actions = createActions({
  before: errors.clear,
  onError: errors.show,
  // After an erasure there is no client to ask.
  after: async () => {
    if (client) statusView.show(await client.status());
  },
});
actions.allow(buttons.correct, false);

buttons.clear.addEventListener('click', () => pad.clear());

actions.on(buttons.predict, async () => {
  const input = pad.input();
  if (!input) throw new EdgeloopError('INVALID_INPUT', 'the pad is empty: draw a digit first');
  const result = await connected().predict(input);
  prediction.show(result);
  lastPredictionId = result.predictionId;
  correctLabel.value = String(result.label);
  feedbackNote.textContent = '';
  actions.allow(buttons.correct, true);
});

actions.on(buttons.correct, async () => {
  if (!lastPredictionId) throw new EdgeloopError('UNKNOWN_PREDICTION', 'predict a digit before correcting it');
  const label = Number(correctLabel.value);
  await connected().feedback(lastPredictionId, label);
  feedbackNote.textContent = `Recorded: the last drawing is a ${label}.`;
});

actions.on(buttons.train, async () => {
  training.start();
  try {
    training.done(await connected().train({}, training.progress));
  } catch (error) {
    training.failed();
    throw error;
  }
});

actions.on(buttons.revert, async () => {
  training.reverted(await connected().revert());
});

// Labels from the queue go through the same feedback as Correct, one at a time.
const helpQueue = createHelpQueue(byId('help-queue', HTMLElement), (predictionId, label) => {
  connected()
    .feedback(predictionId, label)
    .then(() => helpQueue.done(predictionId), errors.show);
});

actions.on(buttons.suggest, async () => {
  helpQueue.show((await connected().suggest({ k: 5 })).suggestions);
});

actions.on(buttons.sync, async () => {
  await connected().sync();
});

actions.on(buttons.erase, async () => {
  const { edge } = await connected().erase();
  client = null;
  for (const button of Object.values(buttons)) actions.allow(button, false);
  const removed = edge
    ? `the edge removed ${edge.removed.events} events, ${edge.removed.runs} runs and ${edge.removed.driftProfiles} drift profiles`
    : 'this device had never reached the edge';
  byId('erase-result', HTMLElement).textContent =
    `Erased: ${removed}; this device's database is deleted. Reload to start afresh.`;
});

async function start(): Promise<void> {
  const config = await loadAppConfig(new URLSearchParams(location.search));
  // Before the client starts, so it finds the registration and hands failed syncs to Background
  // Sync. `vite dev` serves no /sw.js: there the app syncs only while open.
  if (import.meta.env.PROD) {
    const sw = await registerServiceWorker('/sw.js');
    if (!sw.ok) console.warn(`edgeloop: no service worker (${sw.reason}); syncs run only while the page is open`);
  }
  client = await createClient(config.client);
  installTestHook({ client, injectDigit: (pixels) => pad.inject(pixels) });
  const loaded = await client.load({ model: config.model, alias: config.alias });
  statusView.showBackend(loaded.backend);
  statusView.show(await client.status());
  // Live sync progress, this tab's or another's: the status bar refreshes while the page is shown.
  setInterval(() => {
    if (document.visibilityState === 'visible') client?.status().then(statusView.show, () => undefined);
  }, STATUS_REFRESH_MS);
  actions.ready();
  document.body.dataset.ready = 'true';
}

start().catch((error: unknown) => {
  errors.show(error);
  byId('status-backend', HTMLElement).textContent = 'not running';
  byId('status-version', HTMLElement).textContent = 'not loaded';
});

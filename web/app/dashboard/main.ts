import { WhoAmI } from '../../../protocol/dashboard.ts';
import { ModelList } from '../../../protocol/registry.ts';
import { byId } from '../dom.ts';
import { showAlerts } from './alerts-view.ts';
import { ApiFailure, createApi, type DashboardApi, storedKey, storeKey } from './api.ts';
import { wireCard } from './card-view.ts';
import { showDrift } from './drift-view.ts';
import { type ModelEntry, type RegistryState, showRegistry } from './registry-view.ts';
import { wireRollout } from './rollout-view.ts';
import { showRounds } from './rounds-view.ts';
import { fillSelect } from './table.ts';
import { wireTimeline } from './timeline-view.ts';
import './styles.css';

// The dashboard: sign in with a key, then the registry, rollout (publish keys), federated
// rounds, rollout timeline, model card, drift, feedback and alerts of one model, all read
// from the edge's /v1 API.

const HOUR_MS = 3_600_000;
const el = {
  signIn: byId('sign-in', HTMLFormElement),
  key: byId('api-key', HTMLInputElement),
  signOut: byId('sign-out', HTMLButtonElement),
  who: byId('who', HTMLElement),
  error: byId('error', HTMLElement),
  notice: byId('notice', HTMLElement),
  board: byId('board', HTMLElement),
  model: byId('model', HTMLSelectElement),
  range: byId('range', HTMLSelectElement),
  version: byId('version', HTMLSelectElement),
  rollout: byId('rollout', HTMLElement),
};
const parents = {
  versions: byId('versions', HTMLElement),
  aliases: byId('aliases', HTMLElement),
  drift: byId('drift-charts', HTMLElement),
  distributions: byId('distributions', HTMLElement),
  performance: byId('performance-charts', HTMLElement),
  alerts: byId('alerts', HTMLElement),
  rounds: byId('rounds', HTMLElement),
  privacy: byId('privacy', HTMLElement),
};

let api: DashboardApi | null = null;
let models: ModelEntry[] = [];
let registry: RegistryState = { versions: [], aliases: [] };

function showError(error: unknown): void {
  el.error.textContent =
    error instanceof ApiFailure ? `The edge refused: ${error.message}` : `Something failed: ${String(error)}`;
  el.error.hidden = false;
}

function clearMessages(): void {
  el.error.hidden = true;
  el.notice.textContent = '';
}

// The views keep this API, which answers as whichever key is signed in at the time of each call.
const lazyApi: DashboardApi = {
  get: (...args) => connected().get(...args),
  send: (...args) => connected().send(...args),
};

const refreshRollout = wireRollout(lazyApi, byId('confirm', HTMLDialogElement), {
  async changed(notice) {
    clearMessages();
    await loadModel();
    el.notice.textContent = notice;
  },
  failed: showError,
});

function connected(): DashboardApi {
  if (!api) throw new Error('not signed in');
  return api;
}

const refreshTimeline = wireTimeline(lazyApi, byId('timeline-alias', HTMLSelectElement), byId('timeline', HTMLElement));
const refreshCard = wireCard(lazyApi, byId('card-version', HTMLSelectElement), byId('model-card', HTMLElement));

// Loads run one after another: two at once (a model change, then a version change) would both
// clear the views before either draws, leaving each chart twice.
let queue: Promise<void> = Promise.resolve();

/** Draws the drift, feedback and alert views of the chosen version over the chosen range, after any load in flight. */
function loadVersion(): Promise<void> {
  const next = queue.then(drawVersion);
  queue = next.catch(() => undefined);
  return next;
}

async function drawVersion(): Promise<void> {
  const model = el.model.value;
  const version = Number(el.version.value);
  if (!model || !version) return;
  const to = Math.ceil(Date.now() / HOUR_MS) * HOUR_MS;
  const range = { from: to - Number(el.range.value) * HOUR_MS, to };
  document.body.dataset.loading = 'true';
  try {
    const [timing] = await Promise.all([
      showDrift(connected(), model, version, range, {
        drift: parents.drift,
        distributions: parents.distributions,
        performance: parents.performance,
      }),
      showAlerts(connected(), model, version, parents.alerts),
    ]);
    if (timing)
      Object.assign(document.body.dataset, {
        points: timing.points,
        fetchMs: timing.fetchMs.toFixed(1),
        renderMs: timing.renderMs.toFixed(1),
      });
  } finally {
    delete document.body.dataset.loading;
  }
}

/** Reloads the models list and the chosen model's registry, rollout controls and charts. */
async function loadModel(): Promise<void> {
  ({ models } = await connected().get(ModelList, '/v1/models'));
  fillSelect(
    el.model,
    models.map((m) => [m.name, m.name] as const),
  );
  const model = models.find((m) => m.name === el.model.value);
  if (!model) return;
  registry = await showRegistry(connected(), model, parents);
  const production = registry.aliases.find((a) => a.alias === 'production')?.version;
  fillSelect(
    el.version,
    registry.versions.map(
      (info) =>
        [String(info.version), `v${info.version}${info.version === production ? ' (production)' : ''}`] as const,
    ),
    el.version.value || String(production ?? model.latestVersion),
  );
  refreshRollout(model.name, registry);
  await Promise.all([
    showRounds(connected(), model.name, parents),
    refreshTimeline(
      model.name,
      registry.aliases.map((a) => a.alias),
    ),
    refreshCard(
      model.name,
      registry.versions.map((info) => info.version),
      production,
    ),
  ]);
  await loadVersion();
}

async function signIn(key: string): Promise<void> {
  clearMessages();
  const candidate = createApi(key);
  const me = await candidate.get(WhoAmI, '/v1/keys/me');
  api = candidate;
  storeKey(key);
  const canPublish = me.scopes.includes('publish') || me.scopes.includes('admin');
  el.who.textContent = `Signed in as key ${me.keyId} (${me.scopes.join(', ')})`;
  el.rollout.hidden = !canPublish;
  el.signIn.hidden = true;
  el.signOut.hidden = false;
  el.board.hidden = false;
  await loadModel();
  document.body.dataset.ready = 'true';
}

function guarded(task: () => Promise<void>): void {
  task().catch(showError);
}

el.signIn.addEventListener('submit', (event) => {
  event.preventDefault();
  guarded(() => signIn(el.key.value.trim()));
});
el.signOut.addEventListener('click', () => {
  storeKey(null);
  location.reload();
});
el.model.addEventListener('change', () => {
  el.version.value = '';
  guarded(loadModel);
});
el.range.addEventListener('change', () => guarded(loadVersion));
el.version.addEventListener('change', () => guarded(loadVersion));

const remembered = storedKey();
if (remembered) guarded(() => signIn(remembered));

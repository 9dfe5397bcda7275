import { Hono } from 'hono';
import type { AppEnv } from './app-env.ts';
import { cards } from './cards/route.ts';
import { apiCors } from './http/cors.ts';
import { notFound, onError } from './http/on-error.ts';
import { policies } from './rounds/policy-routes.ts';
import { rounds } from './rounds/routes.ts';
import { aliases } from './routes/aliases.ts';
import { clients } from './routes/clients.ts';
import { dashboard, whoami } from './routes/dashboard.ts';
import { drift } from './routes/drift.ts';
import { events } from './routes/events.ts';
import { health } from './routes/health.ts';
import { keys } from './routes/keys.ts';
import { metrics } from './routes/metrics.ts';
import { models } from './routes/models.ts';
import { oip } from './routes/oip.ts';
import { openapi } from './routes/openapi.ts';
import { profiles } from './routes/profiles.ts';
import { publish } from './routes/publish.ts';
import { rollout } from './routes/rollout.ts';
import { runs } from './routes/runs.ts';

/**
 * The Edgeloop Worker. Static assets (the web build) are served by the platform before the
 * Worker runs, except for the API paths listed in wrangler.toml `run_worker_first`; any path
 * with no asset reaches this app, which answers a JSON 404.
 */
const app = new Hono<AppEnv>()
  .use('/v1/*', apiCors)
  .use('/v2/*', apiCors)
  .route('/', health)
  .route('/', openapi)
  .route('/', metrics)
  .route('/v1/keys/me', whoami)
  .route('/v1/keys', keys)
  .route('/v1/models', publish)
  .route('/v1/models', aliases)
  .route('/v1/models', rollout)
  .route('/v1/models', models)
  .route('/v1/models', drift)
  .route('/v1/models', dashboard)
  .route('/v1/models', cards)
  .route('/v1/models', rounds)
  .route('/v1/models', policies)
  .route('/v1/events', events)
  .route('/v1/profiles', profiles)
  .route('/v1/clients', clients)
  .route('/v1/runs', runs)
  .route('/', oip);

app.notFound(notFound);
app.onError(onError);

export default app;
export { DriftAggregator } from './do/drift-aggregator.ts';
export { RateLimiter } from './do/rate-limiter.ts';
export { RoundCoordinator } from './rounds/coordinator.ts';

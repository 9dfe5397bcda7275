import * as v from 'valibot';
import { ClientConfig } from '../../protocol/config.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import { AliasName, ModelName } from '../../protocol/names.ts';
import { BackendPreference } from '../../protocol/worker-api.ts';
import type { ClientOptions } from '../sdk/index.ts';

/** What the demo app runs with: the edge's `/config.json`, overridden by the page's query. */
export interface AppConfig {
  client: ClientOptions;
  model: string;
  alias: string;
}

/**
 * Merges the edge's config with query overrides: `?backend=auto|webgpu|wasm|cpu` picks the
 * backend, `?db=name` a separate IndexedDB database (tests use a fresh one per page),
 * `?model=` and `?alias=` another registry model or alias, `?federated=1` takes part in federated
 * rounds on its own (off otherwise).
 *
 * @example
 * appConfigFrom(await response.json(), new URLSearchParams('?backend=wasm'));
 */
export function appConfigFrom(json: unknown, query: URLSearchParams): AppConfig {
  const parsed = v.safeParse(ClientConfig, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new EdgeloopError('INVALID_INPUT', `/config.json ${v.getDotPath(issue) ?? ''}: ${issue.message}`);
  }
  const config = parsed.output;
  const client: ClientOptions = { endpoint: config.endpoint, key: config.clientKey };
  const backend = query.get('backend');
  if (backend !== null) {
    if (!v.is(BackendPreference, backend)) {
      throw new EdgeloopError(
        'INVALID_INPUT',
        `?backend=${backend}: expected one of ${BackendPreference.options.join(', ')}`,
      );
    }
    client.backend = backend;
  }
  const db = query.get('db');
  if (db !== null) client.dbName = db;
  if (query.get('federated') === '1') client.federated = true;
  return {
    client,
    model: override(query, 'model', ModelName, config.model),
    alias: override(query, 'alias', AliasName, config.alias),
  };
}

function override(query: URLSearchParams, name: string, schema: v.GenericSchema<string>, fallback: string): string {
  const value = query.get(name);
  if (value === null) return fallback;
  const parsed = v.safeParse(schema, value);
  if (!parsed.success) throw new EdgeloopError('INVALID_INPUT', `?${name}=${value}: ${parsed.issues[0].message}`);
  return parsed.output;
}

/** Fetches `/config.json` from this page's origin (the edge serves it next to the app). */
export async function loadAppConfig(query: URLSearchParams): Promise<AppConfig> {
  let response: Response;
  try {
    response = await fetch('/config.json', { headers: { accept: 'application/json' } });
  } catch (error) {
    throw new EdgeloopError('NETWORK', `could not fetch /config.json: ${String(error)}`, { cause: error });
  }
  if (!response.ok) throw new EdgeloopError('EDGE_ERROR', `/config.json answered HTTP ${response.status}`);
  let json: unknown;
  try {
    json = await response.json();
  } catch (error) {
    throw new EdgeloopError('EDGE_ERROR', '/config.json is not JSON', { cause: error });
  }
  return appConfigFrom(json, query);
}

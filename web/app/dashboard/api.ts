import * as v from 'valibot';
import { ModelCard } from '../../../protocol/card.ts';
import { AliasInfo, ErrorBody } from '../../../protocol/registry.ts';
import { RoundList } from '../../../protocol/rounds.ts';

const KEY_STORAGE = 'edgeloop.dashboard.key';

/** A refused or failed call, carrying the edge's error code and message as it sent them. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.name = 'ApiFailure';
  }
}

/** The edge's `/v1` API as the signed-in key (same origin); every answer is validated. */
export interface DashboardApi {
  get<T>(schema: v.GenericSchema<unknown, T>, path: string): Promise<T>;
  send<T>(schema: v.GenericSchema<unknown, T>, method: 'PUT' | 'POST', path: string, body?: unknown): Promise<T>;
}

/**
 * @example
 * const api = createApi(storedKey() ?? '');
 * const { models } = await api.get(ModelList, '/v1/models');
 */
export function createApi(key: string, fetcher: typeof fetch = fetch): DashboardApi {
  async function call<T>(schema: v.GenericSchema<unknown, T>, path: string, init: RequestInit): Promise<T> {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${key}`);
    const res = await fetcher(path, { ...init, headers });
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const error = v.safeParse(ErrorBody, body);
      if (error.success) throw new ApiFailure(res.status, error.output.error.code, error.output.error.message);
      throw new ApiFailure(res.status, 'HTTP_ERROR', res.statusText || 'the edge answered without an error body');
    }
    const parsed = v.safeParse(schema, body);
    if (!parsed.success) {
      throw new ApiFailure(res.status, 'INVALID_RESPONSE', `${path}: ${v.summarize(parsed.issues)}`);
    }
    return parsed.output;
  }
  return {
    get: (schema, path) => call(schema, path, {}),
    send: (schema, method, path, body) =>
      call(schema, path, {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      }),
  };
}

const modelPath = (model: string) => `/v1/models/${encodeURIComponent(model)}`;

/**
 * A model's federated rounds, newest first, and its cumulative privacy.
 *
 * @example
 * const { rounds, privacy } = await getRounds(api, 'digits');
 */
export const getRounds = (api: DashboardApi, model: string): Promise<RoundList> =>
  api.get(RoundList, `${modelPath(model)}/rounds`);

/**
 * An alias: its version, rollout and history.
 *
 * @example
 * const { history } = await getAlias(api, 'digits', 'production');
 */
export const getAlias = (api: DashboardApi, model: string, alias: string): Promise<AliasInfo> =>
  api.get(AliasInfo, `${modelPath(model)}/aliases/${encodeURIComponent(alias)}`);

/**
 * A version's model card, as Markdown and as JSON.
 *
 * @example
 * const { markdown } = await getCard(api, 'digits', 2);
 */
export const getCard = (api: DashboardApi, model: string, version: number): Promise<ModelCard> =>
  api.get(ModelCard, `${modelPath(model)}/versions/${version}/card`);

/**
 * The key kept for this tab only (sessionStorage): closing the tab signs out.
 *
 * @example
 * storeKey('el_…'); storedKey(); // 'el_…'
 */
export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

/** @example storeKey(null); // signs out */
export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

import * as v from 'valibot';
import { EdgeloopError } from '../protocol/errors.ts';
import { ErrorBody } from '../protocol/registry.ts';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * The worker's HTTP client for the edge API (DESIGN.md §4). Turns transport failures into
 * NETWORK, `{"error":{code,message}}` replies into EDGE_ERROR carrying the edge's code, and
 * validates every JSON reply with its protocol schema, since it comes from outside.
 *
 * @example
 * const edge = new EdgeClient('http://127.0.0.1:8787', 'client-key', fetch);
 * const info = await edge.json(`/v1/models/digits/versions/3`, VersionInfo);
 */
export class EdgeClient {
  readonly #base: string;
  readonly #key: string;
  readonly #fetch: FetchLike;

  constructor(endpoint: string, key: string, fetchFn: FetchLike) {
    this.#base = endpoint.endsWith('/') ? endpoint : `${endpoint}/`;
    this.#key = key;
    this.#fetch = fetchFn;
  }

  /**
   * GET (or POST when a body is given, or `method` with the body) and validate the JSON reply.
   *
   * @example
   * await edge.json(`/v1/runs/${id}`, Run, { v: 1, status: 'finished' }, 'PATCH');
   */
  async json<S extends v.GenericSchema>(
    path: string,
    schema: S,
    body?: unknown,
    method?: 'POST' | 'PATCH',
  ): Promise<v.InferOutput<S>> {
    const response = await this.#send(path, body, method);
    const payload = await this.#read(path, () => response.json());
    const result = v.safeParse(schema, payload);
    if (!result.success) {
      const issue = result.issues[0];
      throw new EdgeloopError('EDGE_ERROR', `invalid reply to ${path}: ${v.getDotPath(issue) ?? ''} ${issue.message}`);
    }
    return result.output;
  }

  /** GET raw bytes. */
  async bytes(path: string): Promise<ArrayBuffer> {
    const response = await this.#send(path);
    return this.#read(path, () => response.arrayBuffer());
  }

  async #send(path: string, body?: unknown, method?: 'POST' | 'PATCH'): Promise<Response> {
    const url = new URL(path.replace(/^\//, ''), this.#base).href;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new EdgeloopError('NETWORK', `${path}: ${errorText(error)}`, { cause: error });
    }
    if (!response.ok) throw await edgeError(path, response);
    return response;
  }

  async #read<T>(path: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      // A body that breaks off mid-way is a transport failure; one that is not JSON is the edge's fault.
      const code = error instanceof SyntaxError ? 'EDGE_ERROR' : 'NETWORK';
      throw new EdgeloopError(code, `${path}: reading the reply failed: ${errorText(error)}`, { cause: error });
    }
  }
}

async function edgeError(path: string, response: Response): Promise<EdgeloopError> {
  const body = await response.json().catch(() => undefined);
  const parsed = v.safeParse(ErrorBody, body);
  const detail = parsed.success ? `${parsed.output.error.code}: ${parsed.output.error.message}` : 'no error body';
  return new EdgeloopError('EDGE_ERROR', `${path} → HTTP ${response.status} ${detail}`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Encodes each segment of a path for use in a URL, keeping the slashes. */
export function pathSegments(...segments: (string | number)[]): string {
  return segments.map((s) => String(s).split('/').map(encodeURIComponent).join('/')).join('/');
}

import * as v from 'valibot';
import { CLIENT_TOKEN_HEADER } from '../protocol/clients.ts';
import { EdgeloopError, type ErrorCode } from '../protocol/errors.ts';
import { ErrorBody } from '../protocol/registry.ts';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Request bodies larger than this are gzip-compressed when the runtime can (the edge accepts gzip). */
export const GZIP_THRESHOLD = 8 * 1024;

/**
 * The HTTP facts of a failed reply, kept as the EdgeloopError's `cause` so the sync's retry
 * policy can read the status and Retry-After without parsing messages.
 */
export class HttpFailure {
  readonly status: number;
  /** The raw Retry-After header (seconds or an HTTP date), or null. */
  readonly retryAfter: string | null;

  constructor(status: number, retryAfter: string | null) {
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Edge codes passed through as the client's own code, since callers act on them. */
const PASSED_CODES = new Set<string>([
  'RATE_LIMITED',
  'SEQ_GAP',
  'INVALID_CLIENT_TOKEN',
  'CLIENT_REVOKED',
  'ROUND_NOT_FOUND',
  'ROUND_CLOSED',
  'INVALID_UPDATE',
  'DUPLICATE_UPDATE',
]);

export interface EdgeClientOptions {
  /** gzip for large bodies (null: send them plain). */
  gzip?: ((bytes: Uint8Array) => Promise<Uint8Array>) | null;
}

/**
 * The worker's HTTP client for the edge API (README.md, Edge HTTP API). Turns transport failures into
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
  readonly #gzip: EdgeClientOptions['gzip'];
  /**
   * The client token `POST /v1/clients` issued; every write carries it (events, profiles, runs),
   * which is why it lives here rather than in each caller.
   */
  token: string | null = null;

  constructor(endpoint: string, key: string, fetchFn: FetchLike, options: EdgeClientOptions = {}) {
    this.#base = endpoint.endsWith('/') ? endpoint : `${endpoint}/`;
    this.#key = key;
    this.#fetch = fetchFn;
    this.#gzip = options.gzip ?? null;
  }

  /**
   * GET with `If-None-Match`: null when the edge answered 304, else the validated reply and its ETag.
   *
   * @example
   * const fresh = await edge.conditional(`/v1/models/digits/resolve?alias=production`, Resolution, etag);
   */
  async conditional<S extends v.GenericSchema>(
    path: string,
    schema: S,
    etag: string | null,
  ): Promise<{ value: v.InferOutput<S>; etag: string | null } | null> {
    const response = await this.#send(path, undefined, undefined, etag ? { 'if-none-match': etag } : {});
    if (response.status === 304) return null;
    const payload = await this.#read(path, () => response.json());
    return { value: parseReply(path, schema, payload), etag: response.headers.get('etag') };
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
    return parseReply(path, schema, payload);
  }

  /**
   * A request that carries the client token even as a GET (`…/rounds/current`: the edge counts
   * who asked), with extra `headers`; `bytes` are POSTed as application/octet-stream, gzipped
   * when large like JSON bodies. Validates the JSON reply.
   *
   * @example
   * await edge.asClient(`/v1/models/digits/rounds/${id}/updates`, UpdateReceipt, { bytes, headers });
   */
  async asClient<S extends v.GenericSchema>(
    path: string,
    schema: S,
    request: { bytes?: Uint8Array<ArrayBuffer>; headers?: Record<string, string> } = {},
  ): Promise<v.InferOutput<S>> {
    const headers = { ...request.headers, ...(this.token ? { [CLIENT_TOKEN_HEADER]: this.token } : {}) };
    const response = await this.#send(path, request.bytes, undefined, headers);
    const payload = await this.#read(path, () => response.json());
    return parseReply(path, schema, payload);
  }

  /** GET raw bytes; `asClient` sends the client token too (`…/rounds/{id}/candidate`: contributors only). */
  async bytes(path: string, options: { asClient?: boolean } = {}): Promise<ArrayBuffer> {
    const token: Record<string, string> = options.asClient && this.token ? { [CLIENT_TOKEN_HEADER]: this.token } : {};
    const response = await this.#send(path, undefined, undefined, token);
    return this.#read(path, () => response.arrayBuffer());
  }

  async #send(
    path: string,
    body?: unknown,
    method?: 'POST' | 'PATCH',
    extra: Record<string, string> = {},
  ): Promise<Response> {
    const url = new URL(path.replace(/^\//, ''), this.#base).href;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#key}`, ...extra };
    if (body !== undefined && this.token) headers[CLIENT_TOKEN_HEADER] = this.token;
    let payload: string | Uint8Array<ArrayBuffer> | undefined;
    if (body !== undefined) {
      const binary = body instanceof Uint8Array;
      headers['content-type'] = binary ? 'application/octet-stream' : 'application/json';
      payload = await this.#encode(binary ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body), headers);
    }
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        body: payload,
      });
    } catch (error) {
      throw new EdgeloopError('NETWORK', `${path}: ${errorText(error)}`, { cause: error });
    }
    if (!response.ok && response.status !== 304) throw await edgeError(path, response);
    return response;
  }

  /** Compresses a large body (setting Content-Encoding); small ones are not worth the CPU. */
  async #encode(
    body: string | Uint8Array<ArrayBuffer>,
    headers: Record<string, string>,
  ): Promise<string | Uint8Array<ArrayBuffer>> {
    if (!this.#gzip || body.length <= GZIP_THRESHOLD) return body;
    const plain = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    if (plain.byteLength <= GZIP_THRESHOLD) return body;
    headers['content-encoding'] = 'gzip';
    return new Uint8Array(await this.#gzip(plain));
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
  const edgeCode = parsed.success ? parsed.output.error.code : '';
  const code: ErrorCode = PASSED_CODES.has(edgeCode) ? (edgeCode as ErrorCode) : 'EDGE_ERROR';
  const cause = new HttpFailure(response.status, response.headers.get('retry-after'));
  return new EdgeloopError(code, `${path} → HTTP ${response.status} ${detail}`, { cause });
}

function parseReply<S extends v.GenericSchema>(path: string, schema: S, payload: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, payload);
  if (!result.success) {
    const issue = result.issues[0];
    throw new EdgeloopError('EDGE_ERROR', `invalid reply to ${path}: ${v.getDotPath(issue) ?? ''} ${issue.message}`);
  }
  return result.output;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Encodes each segment of a path for use in a URL, keeping the slashes. */
export function pathSegments(...segments: (string | number)[]): string {
  return segments.map((s) => String(s).split('/').map(encodeURIComponent).join('/')).join('/');
}

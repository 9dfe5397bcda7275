import * as v from 'valibot';
import {
  AliasInfo,
  ArchiveResult,
  CreatedKey,
  DriftReport,
  ErrorBody,
  KeyInfo,
  KeyList,
  ModelList,
  PublishResult,
  Run,
  RunComparison,
  RunList,
  type Scope,
  type SetRollout,
  VersionInfo,
  VersionList,
} from '../../protocol/index.ts';
import { type OpenRound, PolicyInfo, type PolicyInput, Round, RoundList } from '../../protocol/rounds.ts';
import { CliError } from './errors.ts';

const seg = encodeURIComponent;

/** What went wrong below HTTP, in words: the error and its cause (e.g. ECONNREFUSED). */
function networkDetail(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one HTTP client of the edge API (used by the `edgeloop` CLI and by `npm start`). Every
 * answer is checked against its protocol schema; every failure is a {@link CliError} with a
 * one-line message (the edge's error code and message when it sent one).
 */
export class EdgeClient {
  readonly endpoint: string;
  readonly key: string | undefined;

  constructor(endpoint: string, key: string | undefined) {
    this.endpoint = endpoint;
    this.key = key;
  }

  async request<T>(schema: v.GenericSchema<unknown, T>, path: string, init: RequestInit = {}): Promise<T> {
    const method = init.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(path, this.endpoint);
    } catch {
      throw new CliError(`invalid endpoint "${this.endpoint}"`);
    }
    const headers = new Headers(init.headers);
    if (this.key) headers.set('authorization', `Bearer ${this.key}`);
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers });
    } catch (error) {
      throw new CliError(`the edge at ${this.endpoint} is unreachable (${networkDetail(error)})`);
    }
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const error = v.safeParse(ErrorBody, body);
      if (error.success) {
        const { code, message } = error.output.error;
        throw new CliError(`${code}: ${message} (${method} ${path}, HTTP ${res.status})`, 1, code);
      }
      throw new CliError(`${method} ${path} failed with HTTP ${res.status}`);
    }
    const parsed = v.safeParse(schema, body);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const where = issue ? v.getDotPath(issue) : null;
      throw new CliError(
        `unexpected answer from ${method} ${path}: ${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'}`,
      );
    }
    return parsed.output;
  }

  private json<T>(schema: v.GenericSchema<unknown, T>, method: string, path: string, body: unknown): Promise<T> {
    return this.request(schema, path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  listModels(): Promise<ModelList> {
    return this.request(ModelList, '/v1/models');
  }

  listVersions(model: string): Promise<VersionList> {
    return this.request(VersionList, `/v1/models/${seg(model)}/versions`);
  }

  getVersion(model: string, version: number): Promise<VersionInfo> {
    return this.request(VersionInfo, `/v1/models/${seg(model)}/versions/${version}`);
  }

  publish(model: string, form: FormData): Promise<PublishResult> {
    return this.request(PublishResult, `/v1/models/${seg(model)}/versions`, { method: 'POST', body: form });
  }

  getAlias(model: string, alias: string): Promise<AliasInfo> {
    return this.request(AliasInfo, `/v1/models/${seg(model)}/aliases/${seg(alias)}`);
  }

  setAlias(model: string, alias: string, version: number, reason?: string): Promise<AliasInfo> {
    return this.json(AliasInfo, 'PUT', `/v1/models/${seg(model)}/aliases/${seg(alias)}`, { version, reason });
  }

  setRollout(model: string, alias: string, rollout: SetRollout): Promise<AliasInfo> {
    return this.json(AliasInfo, 'PUT', `/v1/models/${seg(model)}/aliases/${seg(alias)}/rollout`, rollout);
  }

  rollback(model: string, alias: string): Promise<AliasInfo> {
    return this.request(AliasInfo, `/v1/models/${seg(model)}/aliases/${seg(alias)}/rollback`, { method: 'POST' });
  }

  archive(model: string, version: number): Promise<ArchiveResult> {
    return this.request(ArchiveResult, `/v1/models/${seg(model)}/versions/${version}/archive`, { method: 'POST' });
  }

  /** The drift report of a version over [from, to) (ms or ISO 8601; the edge's default: the last 24 hours). */
  getDrift(model: string, version: number, range: { from?: string; to?: string } = {}): Promise<DriftReport> {
    const query = new URLSearchParams(Object.entries(range).filter((e): e is [string, string] => e[1] !== undefined));
    const suffix = query.size ? `?${query}` : '';
    return this.request(DriftReport, `/v1/models/${seg(model)}/versions/${version}/drift${suffix}`);
  }

  listRuns(model?: string): Promise<RunList> {
    const query = model ? `?${new URLSearchParams({ model })}` : '';
    return this.request(RunList, `/v1/runs${query}`);
  }

  getRun(id: string): Promise<Run> {
    return this.request(Run, `/v1/runs/${seg(id)}`);
  }

  compareRuns(ids: readonly string[]): Promise<RunComparison> {
    return this.request(RunComparison, `/v1/runs/compare?${new URLSearchParams({ ids: ids.join(',') })}`);
  }

  listKeys(): Promise<KeyList> {
    return this.request(KeyList, '/v1/keys');
  }

  createKey(name: string, scopes: Scope[]): Promise<CreatedKey> {
    return this.json(CreatedKey, 'POST', '/v1/keys', { name, scopes });
  }

  revokeKey(id: string): Promise<KeyInfo> {
    return this.request(KeyInfo, `/v1/keys/${seg(id)}/revoke`, { method: 'POST' });
  }

  listRounds(model: string): Promise<RoundList> {
    return this.request(RoundList, `/v1/models/${seg(model)}/rounds`);
  }

  getRound(model: string, id: string): Promise<Round> {
    return this.request(Round, `/v1/models/${seg(model)}/rounds/${seg(id)}`);
  }

  openRound(model: string, body: OpenRound): Promise<Round> {
    return this.json(Round, 'POST', `/v1/models/${seg(model)}/rounds`, body);
  }

  cancelRound(model: string, id: string): Promise<Round> {
    return this.request(Round, `/v1/models/${seg(model)}/rounds/${seg(id)}/cancel`, { method: 'POST' });
  }

  getPolicy(model: string, alias: string): Promise<PolicyInfo> {
    return this.request(PolicyInfo, `/v1/models/${seg(model)}/aliases/${seg(alias)}/policy`);
  }

  setPolicy(model: string, alias: string, policy: PolicyInput): Promise<PolicyInfo> {
    return this.json(PolicyInfo, 'PUT', `/v1/models/${seg(model)}/aliases/${seg(alias)}/policy`, policy);
  }
}

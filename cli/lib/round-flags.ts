import * as v from 'valibot';
import { MAX_ROUND_MS, OpenRound, Policy, type PolicyInput } from '../../protocol/rounds.ts';
import type { Options, Values } from './command.ts';
import { CliError, usageError } from './errors.ts';

/**
 * A flag and where its value lands in a request body. `number` parses the text; `on`/`off`
 * are boolean flags that set true/false; `minutes` sets a deadline that many minutes from now.
 */
export interface FlagField {
  flag: string;
  path: readonly string[];
  type: 'number' | 'text' | 'on' | 'off' | 'minutes';
}

/** The round settings a flag sets, under `prefix` (`settings` of OpenRound, `round` of a Policy). */
const settingsFields = (prefix: string): FlagField[] => [
  { flag: 'min-clients', path: [prefix, 'minClients'], type: 'number' },
  { flag: 'max-clients', path: [prefix, 'maxClients'], type: 'number' },
  { flag: 'epochs', path: [prefix, 'localEpochs'], type: 'number' },
  { flag: 'learning-rate', path: [prefix, 'learningRate'], type: 'number' },
  { flag: 'clip-norm', path: [prefix, 'clipNorm'], type: 'number' },
  { flag: 'noise', path: [prefix, 'noiseMultiplier'], type: 'number' },
  { flag: 'aggregator', path: [prefix, 'aggregator'], type: 'text' },
  { flag: 'example-cap', path: [prefix, 'exampleCap'], type: 'number' },
  { flag: 'min-examples', path: [prefix, 'minExamples'], type: 'number' },
  { flag: 'delta', path: [prefix, 'delta'], type: 'number' },
  { flag: 'evaluation-seconds', path: [prefix, 'evaluationSeconds'], type: 'number' },
];

/** The flags of `edgeloop rounds open`. */
export const OPEN_FIELDS: readonly FlagField[] = [
  { flag: 'alias', path: ['alias'], type: 'text' },
  { flag: 'base', path: ['baseVersion'], type: 'number' },
  { flag: 'minutes', path: ['settings', 'deadline'], type: 'minutes' },
  ...settingsFields('settings'),
];

/** The flags of `edgeloop policy set` (the common fields; `--file` gives the whole policy). */
export const POLICY_FIELDS: readonly FlagField[] = [
  { flag: 'every-labels', path: ['trigger', 'everyLabels'], type: 'number' },
  { flag: 'on-drift', path: ['trigger', 'onDrift'], type: 'on' },
  { flag: 'every-hours', path: ['trigger', 'everyHours'], type: 'number' },
  { flag: 'round-seconds', path: ['roundSeconds'], type: 'number' },
  { flag: 'min-accuracy', path: ['gate', 'minAccuracy'], type: 'number' },
  { flag: 'max-drop', path: ['gate', 'maxDrop'], type: 'number' },
  { flag: 'canary-percent', path: ['canary', 'percent'], type: 'number' },
  { flag: 'min-labelled', path: ['promotion', 'minLabelled'], type: 'number' },
  { flag: 'disable', path: ['enabled'], type: 'off' },
  ...settingsFields('round'),
];

/**
 * The parseArgs options for a list of fields.
 *
 * @example
 * optionsOf(OPEN_FIELDS)['min-clients'] // { type: 'string' }
 */
export function optionsOf(fields: readonly FlagField[]): Options {
  const type = (f: FlagField) => (f.type === 'on' || f.type === 'off' ? 'boolean' : 'string');
  return Object.fromEntries(fields.map((f) => [f.flag, { type: type(f) }]));
}

/** The fields among `fields` whose flag was given. */
export function givenFlags(values: Values, fields: readonly FlagField[]): string[] {
  return fields.filter((f) => values[f.flag] !== undefined).map((f) => `--${f.flag}`);
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

function parseNumber(flag: string, text: string): number {
  if (!NUMBER.test(text.trim())) throw usageError(`--${flag} must be a number, got "${text}"`);
  return Number(text);
}

function fieldValue(f: FlagField, raw: string | boolean, now: number): unknown {
  if (f.type === 'on' || f.type === 'off') return f.type === 'on';
  const text = String(raw);
  if (f.type === 'text') return text;
  const n = parseNumber(f.flag, text);
  if (f.type === 'number') return n;
  const maxMinutes = MAX_ROUND_MS / 60_000;
  if (!(n > 0 && n <= maxMinutes))
    throw usageError(`--${f.flag} must be more than 0 and at most ${maxMinutes} (a week), got ${text}`);
  return Math.round(now + n * 60_000);
}

function fill(body: Record<string, unknown>, values: Values, fields: readonly FlagField[], now: number): void {
  for (const f of fields) {
    const raw = values[f.flag];
    if (raw === undefined) continue;
    let at = body;
    for (const key of f.path.slice(0, -1)) {
      at[key] ??= {};
      at = at[key] as Record<string, unknown>;
    }
    at[f.path[f.path.length - 1] as string] = fieldValue(f, raw, now);
  }
}

/** Validates a flag-built body; the first problem names the flag that caused it. */
function check<T>(schema: v.GenericSchema<unknown, T>, body: unknown, fields: readonly FlagField[]): void {
  const parsed = v.safeParse(schema, body);
  if (parsed.success) return;
  const issue = parsed.issues[0];
  const path = issue ? v.getDotPath(issue) : null;
  const field = fields.find((f) => f.path.join('.') === path);
  const given = field && field.type !== 'on' && field.type !== 'off' ? ` (${String(issue?.input)})` : '';
  throw usageError(`bad ${field ? `--${field.flag}` : (path ?? 'request')}${given}: ${issue?.message ?? 'invalid'}`);
}

/**
 * The body of `POST /v1/models/{model}/rounds` from the flags of `rounds open`, checked
 * against `OpenRound`.
 *
 * @example
 * openRoundBody({ alias: 'production', 'min-clients': '5', minutes: '30' }, Date.now())
 * // { v: 1, alias: 'production', settings: { minClients: 5, deadline: <now + 30 min> } }
 */
export function openRoundBody(values: Values, now: number): OpenRound {
  const body: Record<string, unknown> = { v: 1 };
  fill(body, values, OPEN_FIELDS, now);
  check(OpenRound, body, OPEN_FIELDS);
  const settings = (body as OpenRound).settings;
  if (
    settings?.minClients !== undefined &&
    settings.maxClients !== undefined &&
    settings.minClients > settings.maxClients
  )
    throw usageError(`--min-clients (${settings.minClients}) is more than --max-clients (${settings.maxClients})`);
  return body as OpenRound;
}

/**
 * A policy (`PUT …/aliases/{alias}/policy`, input form) from the flags of `policy set`,
 * checked against `Policy`. Fields without a flag take the schema's defaults at the edge.
 *
 * @example
 * policyBody({ 'every-labels': '500', 'canary-percent': '5' })
 * // { v: 1, trigger: { everyLabels: 500 }, canary: { percent: 5 } }
 */
export function policyBody(values: Values): PolicyInput {
  const body: Record<string, unknown> = { v: 1 };
  fill(body, values, POLICY_FIELDS, 0);
  check(Policy, body, POLICY_FIELDS);
  return body as PolicyInput;
}

/**
 * A policy from the text of a JSON file, checked against `Policy`; problems name the file and field.
 *
 * @example
 * policyFromJson('policy.json', '{"v":1,"trigger":{"onDrift":true}}') // { v: 1, trigger: { onDrift: true } }
 */
export function policyFromJson(file: string, text: string): PolicyInput {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = v.safeParse(Policy, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue ? v.getDotPath(issue) : null;
    throw new CliError(`invalid policy ${file}: ${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'}`);
  }
  return json as PolicyInput;
}

import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { Policy } from '../../protocol/rounds.ts';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './errors.ts';
import {
  givenFlags,
  OPEN_FIELDS,
  openRoundBody,
  optionsOf,
  POLICY_FIELDS,
  policyBody,
  policyFromJson,
} from './round-flags.ts';

const NOW = 1_780_000_000_000;

/** The CliError `run` throws (fails the test when it throws none). */
function failure(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

describe('openRoundBody', () => {
  it('builds the OpenRound body from every flag', () => {
    const body = openRoundBody(
      {
        alias: 'staging',
        base: '3',
        'min-clients': '5',
        'max-clients': '50',
        minutes: '30',
        epochs: '2',
        'learning-rate': '0.01',
        'clip-norm': '1.5',
        noise: '1.1',
        aggregator: 'trimmed-mean',
        'example-cap': '200',
        'min-examples': '20',
        delta: '1e-6',
      },
      NOW,
    );
    expect(body).toEqual({
      v: 1,
      alias: 'staging',
      baseVersion: 3,
      settings: {
        minClients: 5,
        maxClients: 50,
        deadline: NOW + 30 * 60_000,
        localEpochs: 2,
        learningRate: 0.01,
        clipNorm: 1.5,
        noiseMultiplier: 1.1,
        aggregator: 'trimmed-mean',
        exampleCap: 200,
        minExamples: 20,
        delta: 1e-6,
      },
    });
  });

  it('sends only v when no flag is given, leaving every default to the edge', () => {
    expect(openRoundBody({ json: true, endpoint: 'http://x' }, NOW)).toEqual({ v: 1 });
  });

  it('rounds a fractional number of minutes to a whole-millisecond deadline', () => {
    expect(openRoundBody({ minutes: '0.5' }, NOW + 0.4).settings?.deadline).toBe(NOW + 30_000);
  });

  it.each([
    [{ 'min-clients': '0' }, 'bad --min-clients (0): Invalid value: Expected >=1 but received 0'],
    [{ 'max-clients': '2.5' }, 'bad --max-clients (2.5)'],
    [{ epochs: '51' }, 'bad --epochs (51)'],
    [{ 'learning-rate': '0' }, 'bad --learning-rate (0)'],
    [{ noise: '-1' }, 'bad --noise (-1)'],
    [{ aggregator: 'mean' }, 'bad --aggregator (mean): Invalid type: Expected ("fedavg" | "trimmed-mean" | "median")'],
    [{ delta: '1' }, 'bad --delta (1)'],
    [{ base: '0' }, 'bad --base (0)'],
    [{ alias: 'latest' }, 'bad --alias (latest): alias names latest and v<number> are reserved'],
    [{ 'example-cap': 'many' }, '--example-cap must be a number, got "many"'],
    [{ minutes: '0' }, '--minutes must be more than 0 and at most 10080 (a week), got 0'],
    [{ minutes: '10081' }, '--minutes must be more than 0 and at most 10080 (a week), got 10081'],
    [{ 'min-clients': '5', 'max-clients': '3' }, '--min-clients (5) is more than --max-clients (3)'],
  ])('refuses %o naming the flag, as a usage error', (values, message) => {
    const error = failure(() => openRoundBody(values, NOW));
    expect(error.message).toContain(message);
    expect(error.exitCode).toBe(EXIT_USAGE);
  });
});

describe('policyBody', () => {
  it('builds a policy from the common flags and the round settings, valid for Policy', () => {
    const body = policyBody({
      'every-labels': '500',
      'on-drift': true,
      'every-hours': '24',
      'round-seconds': '900',
      'min-accuracy': '0.9',
      'max-drop': '0.02',
      'canary-percent': '5',
      'min-labelled': '100',
      disable: true,
      noise: '1.2',
      'min-clients': '4',
    });
    expect(body).toEqual({
      v: 1,
      enabled: false,
      trigger: { everyLabels: 500, onDrift: true, everyHours: 24 },
      roundSeconds: 900,
      gate: { minAccuracy: 0.9, maxDrop: 0.02 },
      canary: { percent: 5 },
      promotion: { minLabelled: 100 },
      round: { noiseMultiplier: 1.2, minClients: 4 },
    });
    const parsed = v.parse(Policy, body);
    expect(parsed.promotion).toEqual({ minLabelled: 100, alpha: 0.05, margin: 0.02 });
  });

  it.each([
    [{ 'canary-percent': '0' }, 'bad --canary-percent (0)'],
    [{ 'round-seconds': '1.5' }, 'bad --round-seconds (1.5)'],
    [{ 'every-labels': '-3' }, 'bad --every-labels (-3)'],
    [{ 'max-drop': '2' }, 'bad --max-drop (2): Invalid value: Expected <=1 but received 2'],
    [{ 'every-hours': 'daily' }, '--every-hours must be a number, got "daily"'],
    [{ aggregator: 'sum' }, 'bad --aggregator (sum)'],
  ])('refuses %o naming the flag', (values, message) => {
    const error = failure(() => policyBody(values));
    expect(error.message).toContain(message);
    expect(error.exitCode).toBe(EXIT_USAGE);
  });
});

describe('policyFromJson', () => {
  it('reads a valid policy as written (the edge fills the defaults)', () => {
    expect(policyFromJson('p.json', '{"v":1,"trigger":{"onDrift":true},"canary":{"percent":20}}')).toEqual({
      v: 1,
      trigger: { onDrift: true },
      canary: { percent: 20 },
    });
  });

  it.each([
    ['{"v":1,', 'p.json is not JSON'],
    ['{"trigger":{}}', 'invalid policy p.json: v: Invalid key: Expected "v" but received undefined'],
    ['{"v":1,"gate":{"maxDrop":0.01,"minAcc":0.9}}', 'invalid policy p.json: gate.minAcc: Invalid key'],
    ['{"v":1,"round":{"deadline":5}}', 'invalid policy p.json: round.deadline'],
  ])('refuses %s naming the file and field', (text, message) => {
    const error = failure(() => policyFromJson('p.json', text));
    expect(error.message).toContain(message);
    expect(error.exitCode).toBe(EXIT_FAILURE);
  });
});

describe('flag tables', () => {
  it('declares boolean flags as booleans and the rest as strings', () => {
    const options = optionsOf(POLICY_FIELDS);
    expect(options['on-drift']).toEqual({ type: 'boolean' });
    expect(options.disable).toEqual({ type: 'boolean' });
    expect(options['every-labels']).toEqual({ type: 'string' });
    expect(Object.keys(optionsOf(OPEN_FIELDS))).toContain('minutes');
  });

  it('lists the flags given', () => {
    expect(givenFlags({ noise: '1', json: true }, OPEN_FIELDS)).toEqual(['--noise']);
  });
});

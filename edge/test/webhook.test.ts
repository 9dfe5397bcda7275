import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DriftAlert } from '../../protocol/profile/index.ts';
import { MAX_WEBHOOK_ATTEMPTS } from '../src/do/webhook.ts';
import { driftStub } from '../src/drift/stub.ts';
import { envelope, hourAgo, postProfiles, publishDrift, shifted } from './drift-helpers.ts';

const HOOK = 'https://hooks.edgeloop.test/drift';

/** Answers webhook POSTs with `status()`, recording them; the worker makes no other fetch. */
function spyWebhook(status: () => number) {
  const calls: { url: string; body: unknown }[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    expect(url).toBe(HOOK);
    expect(init?.method).toBe('POST');
    calls.push({ url, body: JSON.parse(String(init?.body)) });
    return new Response('', { status: status() });
  });
  return calls;
}

async function drift(model: string): Promise<{ version: number; window: number }> {
  const version = await publishDrift(model);
  const window = hourAgo(2);
  const res = await postProfiles(`c_${model}`, [envelope(model, version, window, shifted(300, 1))]);
  expect(res.status).toBe(200);
  return { version, window };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('drift webhook', () => {
  it('POSTs a DriftAlert from the alarm', async () => {
    const calls = spyWebhook(() => 200);
    const { version, window } = await drift('wh-deliver');
    const stub = driftStub(env, 'wh-deliver', version);
    // The alarm is due now: workerd may run it before this test does.
    await vi.waitFor(async () => {
      await runDurableObjectAlarm(stub);
      expect(calls).toHaveLength(1);
    });
    const alert = v.parse(DriftAlert, calls[0]?.body);
    expect(alert).toMatchObject({ type: 'drift', model: 'wh-deliver', version, window: { from: window } });
    expect(alert.drifted.sort()).toEqual(['color', 'x']);
    expect(await stub.alerts()).toMatchObject([{ window, delivery: 'delivered', attempts: 1, lastError: null }]);
    expect(await runDurableObjectAlarm(stub)).toBe(false);
  });

  it('retries a failing webhook with backoff, then gives up after the last attempt', async () => {
    let status = 500;
    const calls = spyWebhook(() => status);
    const { version } = await drift('wh-retry');
    const stub = driftStub(env, 'wh-retry', version);
    await vi.waitFor(async () => {
      await runDurableObjectAlarm(stub);
      expect(calls).toHaveLength(1);
    });
    expect(await stub.alerts()).toMatchObject([{ delivery: 'pending', attempts: 1, lastError: 'HTTP 500' }]);
    // Not due yet: an early alarm delivers nothing.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(calls).toHaveLength(1);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 10 * 60_000);
    status = 200;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(calls).toHaveLength(2);
    expect(await stub.alerts()).toMatchObject([{ delivery: 'delivered', attempts: 2, lastError: null }]);

    const failing = await drift('wh-fail');
    const failStub = driftStub(env, 'wh-fail', failing.version);
    status = 503;
    for (let attempt = 1; attempt <= MAX_WEBHOOK_ATTEMPTS; attempt++) {
      vi.setSystemTime(Date.now() + 60 * 60_000);
      expect(await runDurableObjectAlarm(failStub)).toBe(true);
    }
    expect(await failStub.alerts()).toMatchObject([
      { delivery: 'failed', attempts: MAX_WEBHOOK_ATTEMPTS, lastError: 'HTTP 503' },
    ]);
    expect(await runDurableObjectAlarm(failStub)).toBe(false);
  });
});

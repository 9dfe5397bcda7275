import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CLIENT_TOKEN_HEADER, type ClientIdentity } from '../../protocol/clients.ts';
import worker from '../src/index.ts';
import { ADMIN_KEY, CLIENT_KEY, expectError, publishAliased, registerClient } from './helpers.ts';

// The limits are vars read per request, so these tests run the Worker with low ones (the
// rest of the suite keeps the generous defaults) and their own addresses (one bucket each).
const limits = (client: number, ip: number) =>
  ({ ...env, EDGELOOP_RATE_CLIENT_PER_MIN: String(client), EDGELOOP_RATE_IP_PER_MIN: String(ip) }) as unknown as Env;

function resolve(model: string, ip: string, opts: { client?: ClientIdentity; key?: string; limits: Env }) {
  const headers: Record<string, string> = {
    Authorization: `Bearer ${opts.key ?? CLIENT_KEY}`,
    'CF-Connecting-IP': ip,
  };
  if (opts.client) headers[CLIENT_TOKEN_HEADER] = opts.client.token;
  const request = new Request(`https://edge.test/v1/models/${model}/resolve`, { headers });
  return worker.fetch(request, opts.limits, createExecutionContext());
}

describe('rate limits', () => {
  it('answers 429 with Retry-After to a flooding client while another client is served', async () => {
    await publishAliased('rl-client');
    const flooder = await registerClient();
    const other = await registerClient();
    const low = limits(5, 100);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await resolve('rl-client', '203.0.113.1', { client: flooder, limits: low })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const limited = await resolve('rl-client', '203.0.113.1', { client: flooder, limits: low });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(limited, 429, 'RATE_LIMITED');
    // Same address, another client: served.
    expect((await resolve('rl-client', '203.0.113.1', { client: other, limits: low })).status).toBe(200);
  });

  it('limits one address across clients, not other addresses', async () => {
    await publishAliased('rl-ip');
    const low = limits(100, 3);
    for (let i = 0; i < 3; i++) expect((await resolve('rl-ip', '203.0.113.2', { limits: low })).status).toBe(200);
    const limited = await resolve('rl-ip', '203.0.113.2', { client: await registerClient(), limits: low });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await resolve('rl-ip', '203.0.113.3', { limits: low })).status).toBe(200);
  });

  it('limits event writes too, before anything is read or written', async () => {
    const client = await registerClient();
    const low = limits(1, 100);
    const post = () => {
      const id = crypto.randomUUID();
      const body = {
        v: 1,
        clientId: client.clientId,
        batchId: id,
        events: [{ id, seq: 1, type: 'prediction', ts: 1, model: 'm', version: 1, predictionId: id, outputs: [1] }],
      };
      const request = new Request('https://edge.test/v1/events', {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${CLIENT_KEY}`,
          'Content-Type': 'application/json',
          'CF-Connecting-IP': '203.0.113.4',
          [CLIENT_TOKEN_HEADER]: client.token,
        },
        body: JSON.stringify(body),
      });
      return worker.fetch(request, low, createExecutionContext());
    };
    expect((await post()).status).toBe(200);
    await expectError(await post(), 429, 'RATE_LIMITED');
  });

  it('does not limit keys with the publish scope', async () => {
    await publishAliased('rl-admin');
    const low = limits(1, 1);
    for (let i = 0; i < 3; i++) {
      expect((await resolve('rl-admin', '203.0.113.5', { key: ADMIN_KEY, limits: low })).status).toBe(200);
    }
  });
});

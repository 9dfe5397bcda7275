import * as v from 'valibot';
import { CLIENT_TOKEN_HEADER, ClientIdentity } from '../protocol/index.ts';

/** Registers a client with the edge (`POST /v1/clients`) as a device does on first sync. */
export async function registerClient(url: string, clientKey: string): Promise<ClientIdentity> {
  const res = await fetch(`${url}/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ v: 1 }),
  });
  if (res.status !== 201) throw new Error(`register client: HTTP ${res.status} ${await res.text()}`);
  return v.parse(ClientIdentity, await res.json());
}

/** Headers of a registered client's write: its key, its token, JSON. */
export function clientHeaders(clientKey: string, identity: ClientIdentity): Record<string, string> {
  return {
    authorization: `Bearer ${clientKey}`,
    'content-type': 'application/json',
    [CLIENT_TOKEN_HEADER]: identity.token,
  };
}

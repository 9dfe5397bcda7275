import { type EraseReceipt, EraseReceipt as EraseReceiptSchema } from '../../protocol/clients.ts';
import { readIdentity } from '../db.ts';
import type { SyncRuntime } from '../runtime.ts';

/**
 * Asks the edge to erase everything it holds of this device's client (`POST
 * /v1/clients/{id}/erase` with its token) and returns the receipt; null when the device never
 * registered, so the edge holds nothing of it. Rejects (NETWORK, EDGE_ERROR, …) when the edge
 * cannot do it: the caller then leaves the device's data as it is, so the erasure can be asked
 * again with the same identity.
 *
 * @example
 * const receipt = await eraseAtEdge(runtime); // { removed: { events: 12, … }, … }
 */
export async function eraseAtEdge(runtime: SyncRuntime): Promise<EraseReceipt | null> {
  // Another tab (or the service worker) may have registered this database since init.
  const identity = runtime.identity ?? (await readIdentity(runtime.db));
  if (!identity) return null;
  const { edge } = runtime;
  edge.token = identity.token;
  return edge.json(`/v1/clients/${encodeURIComponent(identity.clientId)}/erase`, EraseReceiptSchema, {});
}

import { env } from 'cloudflare:workers';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { DriftWindows } from '../../protocol/drift.ts';
import { DriftReport, WINDOW_MS } from '../../protocol/profile/index.ts';
import { eraseClientDrift } from '../src/drift/erase.ts';
import { driftStub } from '../src/drift/stub.ts';
import {
  clientNamed,
  envelope,
  hourAgo,
  inDistribution,
  postProfiles,
  publishDrift,
  shifted,
} from './drift-helpers.ts';
import { ADMIN_KEY, api, count } from './helpers.ts';

// Erasing a client (issue 14) takes its drift rows out of every version it sent them to, as a
// device and through edge inference, and leaves each window as if it had never sent them.

const H = WINDOW_MS;

async function get<T>(schema: v.GenericSchema<unknown, T>, path: string): Promise<T> {
  const res = await api(path, { key: ADMIN_KEY });
  expect(res.status, await res.clone().text()).toBe(200);
  return v.parse(schema, await res.json());
}

async function ingest(name: string, profiles: unknown[]): Promise<void> {
  const res = await postProfiles(name, profiles);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ rejected: [] });
}

describe('eraseClientDrift', () => {
  it("rebuilds every window the client was in from the others' rows, as if it had never sent any", async () => {
    const erased = await publishDrift('erase-drift');
    const fresh = await publishDrift('erase-drift');
    const other = await publishDrift('erase-other');
    const w = hourAgo(4);
    const { clientId } = await clientNamed('c_erase_gone');
    // The leaving client: shifted rows in two windows, its edge inference, another model too.
    await ingest('c_erase_gone', [
      envelope('erase-drift', erased, w, shifted(400, 1)),
      envelope('erase-drift', erased, w - H, inDistribution(200, 2)),
      envelope('erase-other', other, w, shifted(300, 3)),
    ]);
    const edge = await driftStub(env, 'erase-drift', erased).ingest(
      { model: 'erase-drift', version: erased },
      `edge:${clientId}`,
      [{ id: 'p_edge_1', window: w, profile: shifted(50, 4) }],
    );
    expect(edge).toEqual([{ status: 'accepted' }]);
    // The staying client, with the same profiles in both versions.
    const staying = [
      envelope('erase-drift', erased, w, inDistribution(300, 5), 'stay-1'),
      envelope('erase-drift', erased, w, inDistribution(250, 6), 'stay-2'),
      envelope('erase-drift', erased, w - H, inDistribution(150, 7), 'stay-3'),
    ];
    await ingest('c_erase_stays', staying);
    await ingest(
      'c_erase_stays',
      staying.map((e) => ({ ...e, version: fresh })),
    );

    const path = (version: number, what = 'drift') =>
      `/v1/models/erase-drift/versions/${version}/${what}?from=${w - H}&to=${w + H}`;
    const before = await get(DriftReport, path(erased));
    expect(before.current.count).toBe(400 + 200 + 50 + 700);
    expect(before.dataset.drifted).toBe(true);

    expect(await eraseClientDrift(env, clientId)).toEqual({
      versions: [
        { model: 'erase-drift', version: erased },
        { model: 'erase-other', version: other },
      ],
      profiles: 4,
      rows: 400 + 200 + 50 + 300,
    });

    const without = (r: DriftReport) => ({ ...r, version: 0 });
    const after = await get(DriftReport, path(erased));
    const never = await get(DriftReport, path(fresh));
    expect(after.current.count).toBe(700);
    expect(without(after)).toEqual(without(never));
    const windows = (d: DriftWindows) => d.windows.map((x) => ({ ...x, report: without(x.report) }));
    expect(windows(await get(DriftWindows, path(erased, 'drift/windows')))).toEqual(
      windows(await get(DriftWindows, path(fresh, 'drift/windows'))),
    );
    // The other model's window had only the erased client: nothing of it is left.
    const gone = await get(
      DriftWindows,
      `/v1/models/erase-other/versions/${other}/drift/windows?from=${w}&to=${w + H}`,
    );
    expect(gone.windows).toEqual([]);
    expect(await count('drift_contributors', 'client_id = ?', clientId)).toBe(0);
    // A second erasure finds nothing.
    expect(await eraseClientDrift(env, clientId)).toEqual({ versions: [], profiles: 0, rows: 0 });
  });
});

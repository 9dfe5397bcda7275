import { rmSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { EdgeClient } from '../cli/lib/client.ts';
import { publishDir } from '../cli/lib/publish.ts';
import { E2E_URL } from '../playwright.config.ts';
import { AliasInfo, canaryBucket } from '../protocol/index.ts';
import { openApp, status } from './fixtures/app.ts';
import { adminKey, copyDemoModelAs, waitForDemoModel } from './fixtures/edge.ts';

// A browser client in a canary gets the canary version; a rollback brings it back. On its own
// model (a copy of the demo model) so digits@production stays as the other specs expect.
const MODEL = 'digits-canary';
const ALIAS = 'production';
const aliasPath = `/v1/models/${MODEL}/aliases/${ALIAS}`;

function put(edge: EdgeClient, path: string, body: unknown): Promise<AliasInfo> {
  return edge.request(AliasInfo, path, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test('a client in the canary gets the canary version, and a rollback brings it back', async ({ page }) => {
  await waitForDemoModel();
  const edge = new EdgeClient(E2E_URL, adminKey());
  const dir = copyDemoModelAs(MODEL);
  try {
    const v1 = (await publishDir(edge, dir)).version;
    const v2 = (await publishDir(edge, dir)).version;
    await put(edge, aliasPath, { version: v1, reason: 'first release' });

    await openApp(page, { model: MODEL });
    const version = page.getByTestId('status-version');
    await expect(version).toContainText(`${MODEL} v${v1}`);
    const { clientId } = await status(page);
    if (!clientId) throw new Error('no client id');

    // The smallest whole percent that puts this client in the canary: assignment is by its bucket.
    const percent = Math.min(100, Math.floor(await canaryBucket(MODEL, ALIAS, clientId)) + 1);
    await put(edge, `${aliasPath}/rollout`, { canary: { version: v2, percent }, reason: 'canary' });
    for (let visit = 0; visit < 2; visit++) {
      await page.reload();
      await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 180_000 });
      await expect(version).toContainText(`${MODEL} v${v2}`);
    }

    // Promote the canary, then roll back: the client is served v1 again.
    await put(edge, aliasPath, { version: v2, reason: 'canary looked good' });
    const rolledBack = await edge.request(AliasInfo, `${aliasPath}/rollback`, { method: 'POST' });
    expect(rolledBack).toMatchObject({ version: v1, rollout: {} });
    expect(rolledBack.history[0]).toMatchObject({ kind: 'rollback', from: v2, to: v1 });
    await page.reload();
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 180_000 });
    await expect(version).toContainText(`${MODEL} v${v1}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { readFileSync } from 'node:fs';
import { chromium } from '@playwright/test';
import { serveThirdParty } from '../playwright/fixtures/third-party/server.ts';
import config from '../playwright.config.ts';
import type { EmbedBuild } from '../scripts/build-embed.ts';

export interface EmbedFigures {
  path: string;
  bytes: number;
  gzipBytes: number;
  backend: string;
  /** From the loader's request to the first prediction's answer: empty cache and IndexedDB. */
  coldMs: number;
  /** The same after a reload: script and worker from the HTTP cache, the model from IndexedDB. */
  warmMs: number;
}

/**
 * The script tag's size and its time to a first prediction, on a page from a second origin
 * that has only the tag (the e2e fixture, under its strict CSP), in Debian's Chromium.
 */
export async function benchEmbed(edge: string, port: number, clientKey: string): Promise<EmbedFigures> {
  const embed: EmbedBuild = JSON.parse(readFileSync(new URL('../dist/embed.json', import.meta.url), 'utf8'));
  const site = await serveThirdParty(port, {
    edge,
    src: `${edge}${embed.path}`,
    integrity: embed.integrity,
    key: clientKey,
  });
  const browser = await chromium.launch(config.use?.launchOptions);
  try {
    const page = await browser.newPage();
    const firstPrediction = async () => {
      const { at, backend, error } = await page.evaluate(
        () => window.earlyPrediction as Promise<{ at: number; backend: string; error?: string }>,
      );
      if (error) throw new Error(`bench: the embedded predict failed: ${error}`);
      const start = await page.evaluate(
        () => performance.getEntriesByType('resource').find((e) => e.name.includes('/embed/'))?.startTime ?? 0,
      );
      return { ms: at - start, backend };
    };
    await page.goto(site.url);
    const cold = await firstPrediction();
    await page.reload();
    const warm = await firstPrediction();
    return {
      path: embed.path,
      bytes: embed.bytes,
      gzipBytes: embed.gzipBytes,
      backend: cold.backend,
      coldMs: cold.ms,
      warmMs: warm.ms,
    };
  } finally {
    await browser.close();
    await site.close();
  }
}

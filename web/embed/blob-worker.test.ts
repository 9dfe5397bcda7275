import { resolveObjectURL } from 'node:buffer';
import { afterEach, expect, it, vi } from 'vitest';
import { blobWorker } from './blob-worker.ts';

afterEach(() => {
  vi.unstubAllGlobals();
});

it('starts a module worker from a blob that imports the edge’s worker, and frees the blob', async () => {
  const started: { url: string; options: WorkerOptions; source: Promise<string> | undefined }[] = [];
  vi.stubGlobal(
    'Worker',
    class {
      constructor(url: string, options: WorkerOptions) {
        started.push({ url, options, source: resolveObjectURL(url)?.text() });
      }
    },
  );
  blobWorker('https://edge.example/assets/worker-abc.js')();
  const [worker] = started;
  expect(worker?.url).toMatch(/^blob:/);
  expect(worker?.options).toEqual({ type: 'module', name: 'edgeloop' });
  expect(await worker?.source).toBe('import "https://edge.example/assets/worker-abc.js";');
  expect(resolveObjectURL(worker?.url ?? '')).toBeUndefined();
});

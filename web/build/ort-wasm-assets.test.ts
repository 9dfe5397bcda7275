import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ORT_FILES } from '../../protocol/ort.ts';
import { ORT_WASM_FILES, ortWasmAssets } from './ort-wasm-assets.ts';

const DIST = new URL('../../node_modules/onnxruntime-web/dist/', import.meta.url).pathname;

describe('ortWasmAssets', () => {
  it('emits under /ort/ every file the worker points ORT at, each small enough to deploy', () => {
    const emitted: string[] = [];
    const plugin = ortWasmAssets({ from: DIST });
    const generate = plugin.generateBundle as unknown as (this: { emitFile(file: { fileName: string }): void }) => void;
    generate.call({ emitFile: (file) => emitted.push(file.fileName) });

    const wanted = Object.values(ORT_FILES).flatMap((build) => [build.mjs, build.wasm]);
    expect(emitted.sort()).toEqual(wanted.map((name) => `ort/${name}`).sort());
    expect([...ORT_WASM_FILES].sort()).toEqual(wanted.sort());
    for (const name of ORT_WASM_FILES) expect(statSync(`${DIST}${name}`).size).toBeLessThanOrEqual(25 * 1024 * 1024);
  });

  it('fails the build when a file is missing', () => {
    const plugin = ortWasmAssets({ from: '/nonexistent/' });
    const generate = plugin.generateBundle as unknown as (this: { emitFile(): void }) => void;
    expect(() => generate.call({ emitFile: () => undefined })).toThrow(/lacks ort-wasm-simd-threaded/);
  });
});

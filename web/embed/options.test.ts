import { describe, expect, it } from 'vitest';
import { optionsFromAttributes, parseEmbedOptions } from './options.ts';

describe('optionsFromAttributes', () => {
  it('maps the data-* attributes to options, and none without data-key', () => {
    expect(optionsFromAttributes({ model: 'digits' })).toBeNull();
    expect(
      optionsFromAttributes({
        key: 'k',
        model: 'digits',
        alias: 'canary',
        db: 'mine',
        backend: 'wasm',
        runtime: 'onnx',
        other: 'x',
      }),
    ).toEqual({ key: 'k', model: 'digits', alias: 'canary', dbName: 'mine', backend: 'wasm', runtime: 'onnx' });
  });
});

describe('parseEmbedOptions', () => {
  it('fills defaults and leaves the endpoint to the script’s origin', () => {
    expect(parseEmbedOptions({ key: 'k', model: 'digits' })).toEqual({
      key: 'k',
      model: 'digits',
      alias: 'production',
      backend: 'auto',
      runtime: 'tfjs',
      dbName: 'edgeloop',
      shareFeatures: false,
    });
  });

  it('takes the ONNX runtime, as data-runtime="onnx" gives it', () => {
    const fromTag = optionsFromAttributes({ key: 'k', model: 'digits', runtime: 'onnx' });
    expect(parseEmbedOptions(fromTag)).toMatchObject({ runtime: 'onnx', backend: 'auto' });
  });

  it('refuses bad options with INVALID_INPUT naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [{ model: 'digits' }, /key/],
      [{ key: 'k' }, /model/],
      [{ key: 'k', model: 'Digits!' }, /model/],
      [{ key: 'k', model: 'digits', endpoint: 'not a url' }, /endpoint/],
      [{ key: 'k', model: 'digits', backend: 'gpu' }, /backend/],
      [{ key: 'k', model: 'digits', runtime: 'ONNX' }, /runtime/],
      [{ key: 'k', model: 'digits', wasmPath: '/tfjs/' }, /wasmPath/],
      [null, /Edgeloop.init/],
    ];
    for (const [options, message] of bad) {
      expect(() => parseEmbedOptions(options), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/^Edgeloop.init/) }),
      );
      expect(() => parseEmbedOptions(options)).toThrow(message);
    }
  });
});

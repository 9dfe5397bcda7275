import { describe, expect, it } from 'vitest';
import { optionsFromAttributes, parseEmbedOptions } from './options.ts';

describe('optionsFromAttributes', () => {
  it('maps the data-* attributes to options, and none without data-key', () => {
    expect(optionsFromAttributes({ model: 'digits' })).toBeNull();
    expect(
      optionsFromAttributes({ key: 'k', model: 'digits', alias: 'canary', db: 'mine', backend: 'wasm', other: 'x' }),
    ).toEqual({ key: 'k', model: 'digits', alias: 'canary', dbName: 'mine', backend: 'wasm' });
  });
});

describe('parseEmbedOptions', () => {
  it('fills defaults and leaves the endpoint to the script’s origin', () => {
    expect(parseEmbedOptions({ key: 'k', model: 'digits' })).toEqual({
      key: 'k',
      model: 'digits',
      alias: 'production',
      backend: 'auto',
      dbName: 'edgeloop',
      shareFeatures: false,
    });
  });

  it('refuses bad options with INVALID_INPUT naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [{ model: 'digits' }, /key/],
      [{ key: 'k' }, /model/],
      [{ key: 'k', model: 'Digits!' }, /model/],
      [{ key: 'k', model: 'digits', endpoint: 'not a url' }, /endpoint/],
      [{ key: 'k', model: 'digits', backend: 'gpu' }, /backend/],
      [{ key: 'k', model: 'digits', runtime: 'onnx' }, /runtime/],
      [null, /Edgeloop.init/],
    ];
    for (const [options, message] of bad) {
      expect(() => parseEmbedOptions(options), JSON.stringify(options)).toThrow(/^\[INVALID_INPUT\] Edgeloop.init/);
      expect(() => parseEmbedOptions(options)).toThrow(message);
    }
  });
});

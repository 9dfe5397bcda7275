import { describe, expect, it } from 'vitest';
import { modelDriftFeatures } from './features.ts';

describe('modelDriftFeatures', () => {
  it("gives every input its kind's features, the later ones named after their input and reading it", () => {
    const features = modelDriftFeatures([
      { name: 'image', dtype: 'float32', shape: [-1, 8, 8, 3] },
      { name: 'age', dtype: 'float32', shape: [-1, 2] },
      { name: 'ids', dtype: 'int32', shape: [-1, 5] },
      { name: 'embedding', dtype: 'float32', shape: [-1, 64] },
    ]);
    expect(features.map((f) => [f.name, f.source])).toEqual([
      ['mean', { stat: 'mean' }],
      ['std', { stat: 'std' }],
      ['channel_0_mean', { stat: 'mean', channel: 0 }],
      ['channel_1_mean', { stat: 'mean', channel: 1 }],
      ['channel_2_mean', { stat: 'mean', channel: 2 }],
      ['age_0', { index: 0, input: 'age' }],
      ['age_1', { index: 1, input: 'age' }],
      ['embedding_mean', { stat: 'mean', input: 'embedding' }],
      ['embedding_std', { stat: 'std', input: 'embedding' }],
      ['embedding_l2', { stat: 'l2', input: 'embedding' }],
    ]);
  });
});

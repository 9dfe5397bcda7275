import * as tfl from '@tensorflow/tfjs-layers';
import { layersFiles } from '../../models/samples/layers-files.ts';
import { type FakeFile, fakeFiles } from './fake-edge.ts';

/**
 * A small 28×28×1 → 10 softmax model saved as tfjs layers files (model.json + weights.bin),
 * for tests that need a model but not a good one. Needs an active tfjs backend. `inputShape`
 * (without the batch axis) gives a model that does not fit digits inputs.
 */
export async function tinyModelFiles(inputShape: number[] = [28, 28, 1], seed?: number): Promise<FakeFile[]> {
  // A seed fixes the weights, for tests that compare two models' answers.
  const init = seed === undefined ? {} : { kernelInitializer: tfl.initializers.glorotUniform({ seed }) };
  const model = tfl.sequential({
    layers: [tfl.layers.flatten({ inputShape }), tfl.layers.dense({ units: 10, activation: 'softmax', ...init })],
  });
  const files = fakeFiles(await layersFiles(model));
  model.dispose();
  return files;
}

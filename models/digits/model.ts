import * as tfl from '@tensorflow/tfjs-layers';
import { IMAGE_SIZE } from './data.ts';

/** Number of digit classes. */
export const NUM_CLASSES = 10;

/**
 * Builds the demo digits classifier: a small CNN (about 30k parameters) for 28×28×1 images
 * scaled to [0, 1], ending in a 10-way softmax. Initial weights and dropout masks come from
 * tfjs's random source (seeded from `Math.random`).
 *
 * @example
 * const model = buildDigitsModel();
 * model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
 */
export function buildDigitsModel(): tfl.Sequential {
  return tfl.sequential({
    name: 'digits',
    layers: [
      tfl.layers.conv2d({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1], filters: 16, kernelSize: 3, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tfl.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dropout({ rate: 0.25 }),
      tfl.layers.dense({ units: 32, activation: 'relu' }),
      tfl.layers.dense({ units: NUM_CLASSES, activation: 'softmax' }),
    ],
  });
}

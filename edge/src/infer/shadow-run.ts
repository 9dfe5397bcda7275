import { oipMetadata } from '../../../protocol/oip.ts';
import type { Tensor } from '../../../protocol/oip-tensor.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { getVersion } from '../storage/registry.ts';
import { recordShadow } from '../storage/shadow.ts';
import { runOnnxVersion, runTfjsVersion } from './serve.ts';
import { compareOutputs } from './shadow.ts';

const sameInputs = (a: VersionInfo, b: VersionInfo) =>
  JSON.stringify(oipMetadata(a.manifest, 0).inputs) === JSON.stringify(oipMetadata(b.manifest, 0).inputs);

/**
 * Runs the rollout's shadow on the inputs the served version answered, after the answer, and
 * records how their first outputs compared. A shadow that is gone, archived or takes other
 * inputs is skipped; its failures are the caller's to log, never shown to the client.
 *
 * @example
 * c.executionCtx.waitUntil(shadowRun(c.env, info, 'production', 4, inputs, outputs));
 */
export async function shadowRun(
  env: Env,
  served: VersionInfo,
  alias: string,
  shadow: number,
  inputs: Tensor[],
  outputs: Tensor[],
): Promise<void> {
  const info = await getVersion(env.DB, served.model, shadow);
  if (!info || info.status === 'archived' || !sameInputs(info, served)) return;
  // A shadow runs on its own format's runtime: an ONNX model on ORT, a tfjs model on tfjs.
  const {
    value: [first],
  } =
    info.manifest.format === 'onnx'
      ? await runOnnxVersion(env, info, inputs)
      : await runTfjsVersion(env.ARTIFACTS, info, inputs);
  const [servedFirst] = outputs;
  if (!first || !servedFirst) return;
  await recordShadow(env.DB, {
    model: served.model,
    alias,
    version: served.version,
    shadowVersion: shadow,
    at: Date.now(),
    ...compareOutputs(servedFirst, first),
  });
}

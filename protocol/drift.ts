import * as v from 'valibot';
import { ModelName } from './names.ts';
import { DriftReport } from './profile/index.ts';

/** `GET …/drift/windows`: one report per hour that has data, oldest first, for charts. */
export const DriftWindows = v.object({
  model: ModelName,
  version: v.number(),
  windows: v.array(v.object({ from: v.number(), to: v.number(), report: DriftReport })),
});
export type DriftWindows = v.InferOutput<typeof DriftWindows>;

/** `POST …/drift/ack`: how many open alerts (windows) were acknowledged. */
export const DriftAck = v.object({ acknowledged: v.number() });
export type DriftAck = v.InferOutput<typeof DriftAck>;

import type { Tensor, TensorData } from '../../../protocol/oip-tensor.ts';

// Work on the isolate is cut into chunks with the event loop run between them (infer/lane.ts),
// so that one request (a big batch, an explanation) never holds the isolate: /healthz and the
// requests of other clients are served between two chunks.

/** Work units (infer/cost.ts) between two yields: ~10 ms of tfjs-cpu. A chunk is at least one row. */
export const CHUNK_WORK = 4_000_000;

/**
 * Rows per chunk of a batch whose rows cost `rowWork` units each: CHUNK_WORK's worth, at least one.
 *
 * @example
 * chunkRows(715_396); // 5 digits between two yields
 */
export function chunkRows(rowWork: number): number {
  return Math.max(1, Math.floor(CHUNK_WORK / rowWork));
}

/** Rows `start` … `start + rows − 1` of each input (views, not copies). */
const rowsOf = (inputs: Tensor[], start: number, rows: number): Tensor[] =>
  inputs.map((input) => {
    const size = input.data.length / (input.shape[0] ?? 1);
    return { shape: [rows, ...input.shape.slice(1)], data: input.data.subarray(start * size, (start + rows) * size) };
  });

/** The outputs of the chunks, concatenated along the batch axis. */
function concatRows(parts: Tensor[][]): Tensor[] {
  return (parts[0] ?? []).map((first, o) => {
    const pieces = parts.map((part) => part[o] as Tensor);
    // The same array type as the pieces: an output keeps its datatype.
    const Type = first.data.constructor as new (length: number) => TensorData;
    const data = new Type(pieces.reduce((n, p) => n + p.data.length, 0));
    let at = 0;
    for (const piece of pieces) {
      (data as Float32Array).set(piece.data as Float32Array, at);
      at += piece.data.length;
    }
    const rows = pieces.reduce((n, p) => n + (p.shape[0] ?? 0), 0);
    return { shape: [rows, ...first.shape.slice(1)], data };
  });
}

/**
 * Runs `run` on the batch `rowsPerChunk` examples at a time, one chunk after the other, and
 * concatenates the outputs: the same answer as one call, for models whose rows do not interact
 * (inference). `run` decides how a chunk waits its turn (infer/lane.ts) or calls out (ONNX).
 *
 * @example
 * const [probs] = await inChunks(inputs, chunkRows(perExample), (chunk) => lane.run(owner, () => predict(model, chunk)));
 */
export async function inChunks(
  inputs: Tensor[],
  rowsPerChunk: number,
  run: (chunk: Tensor[]) => Tensor[] | Promise<Tensor[]>,
): Promise<Tensor[]> {
  const total = inputs[0]?.shape[0] ?? 0;
  if (total <= rowsPerChunk) return run(inputs);
  const parts: Tensor[][] = [];
  for (let start = 0; start < total; start += rowsPerChunk) {
    parts.push(await run(rowsOf(inputs, start, Math.min(rowsPerChunk, total - start))));
  }
  return concatRows(parts);
}

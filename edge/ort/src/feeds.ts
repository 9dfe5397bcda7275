import { type OrtInput, type OrtOutput, OrtOutputType } from '../../../protocol/ort.ts';
import { OrtError } from './failure.ts';
import { ort } from './ort-wasm.ts';

const invalid = (message: string) => new OrtError('INVALID_INPUT', message);

type Metadata = ort.InferenceSession.ValueMetadata;

/** A dimension of the model's shape as text: a number, or the symbol / `?` of one of any size. */
const dimText = (d: number | string) => (typeof d === 'string' ? d || '?' : d < 0 ? '?' : String(d));

/** Checks `input` against the model's metadata for it and converts its data to the type the model takes. */
function toTensor(input: OrtInput, meta: Metadata): ort.Tensor {
  const where = `input "${input.name}"`;
  if (!meta.isTensor) throw invalid(`${where} of the model is not a tensor`);
  const want = meta.shape;
  // An empty shape in the metadata means ORT does not know it (or a scalar): leave it to ORT.
  if (want.length > 0) {
    const fits =
      want.length === input.shape.length &&
      want.every((d, i) => typeof d === 'string' || d < 0 || d === input.shape[i]);
    if (!fits) throw invalid(`${where} has shape [${input.shape}]; the model takes [${want.map(dimText)}]`);
  }
  // Numbers as doubles: bigints (int64 data) are exact within ±2^53, as JSON carries them.
  const data: ArrayLike<number> = input.data instanceof BigInt64Array ? Array.from(input.data, Number) : input.data;
  const integral = (low: number, high: number) => {
    for (let i = 0; i < data.length; i++) {
      const x = data[i] ?? Number.NaN;
      if (!Number.isSafeInteger(x) || x < low || x > high)
        throw invalid(`${where}: element ${i} (${x}) is not ${meta.type}`);
    }
  };
  switch (meta.type) {
    case 'float32':
      return new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), input.shape);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.from(data), input.shape);
    case 'int32':
      integral(-(2 ** 31), 2 ** 31 - 1);
      return new ort.Tensor('int32', data instanceof Int32Array ? data : Int32Array.from(data), input.shape);
    case 'int64':
      integral(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      return new ort.Tensor(
        'int64',
        input.data instanceof BigInt64Array ? input.data : BigInt64Array.from(data, (x) => BigInt(x)),
        input.shape,
      );
    case 'uint8':
      integral(0, 255);
      return new ort.Tensor('uint8', Uint8Array.from(data), input.shape);
    case 'bool':
      integral(0, 1);
      return new ort.Tensor('bool', Uint8Array.from(data), input.shape);
    default:
      throw invalid(`${where}: the model takes ${meta.type}, which this service does not feed`);
  }
}

/**
 * The feeds of a run: every input the model declares, each once, checked against the model's
 * shapes (symbolic or negative dimensions take any size). Throws INVALID_INPUT naming what is wrong.
 *
 * @example
 * const feeds = toFeeds(session, [{ name: 'x', shape: [2, 4], data: new Float32Array(8) }]);
 */
export function toFeeds(session: ort.InferenceSession, inputs: readonly OrtInput[]): Record<string, ort.Tensor> {
  const metas = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const meta = metas.get(input.name);
    if (!meta) throw invalid(`the model has no input "${input.name}"; its inputs: ${[...metas.keys()].join(', ')}`);
    if (input.name in feeds) throw invalid(`input "${input.name}" is given twice`);
    feeds[input.name] = toTensor(input, meta);
  }
  const missing = [...metas.keys()].filter((name) => !(name in feeds));
  if (missing.length > 0) throw invalid(`missing input(s) ${missing.map((n) => `"${n}"`).join(', ')}`);
  return feeds;
}

/** The outputs to fetch: those asked for (each must exist), or all the model's. */
export function outputNames(session: ort.InferenceSession, wanted: readonly string[] | undefined): string[] {
  if (!wanted) return [...session.outputNames];
  for (const name of wanted) {
    if (!session.outputNames.includes(name)) {
      throw invalid(`the model has no output "${name}"; its outputs: ${session.outputNames.join(', ')}`);
    }
  }
  return [...new Set(wanted)];
}

const OUTPUT_TYPES: ReadonlySet<string> = new Set<OrtOutputType>(OrtOutputType.options);

/**
 * An ORT output tensor as it crosses the binding: float32, int32, int64, uint8 and bool in
 * their typed arrays (bool as 0/1 bytes), other numbers as an array.
 */
export function fromTensor(name: string, tensor: ort.Tensor): OrtOutput {
  if (!OUTPUT_TYPES.has(tensor.type)) {
    throw new OrtError('INTERNAL', `output "${name}" is ${tensor.type}; this service returns numeric tensors only`);
  }
  const type = tensor.type as OrtOutputType;
  const shape = [...tensor.dims];
  const raw = tensor.data;
  const typed =
    raw instanceof Float32Array ||
    raw instanceof Int32Array ||
    raw instanceof BigInt64Array ||
    raw instanceof Uint8Array;
  // A copy: the tensor's buffer is ORT's and is released after the run.
  const data = typed ? raw.slice() : Array.from(raw as ArrayLike<number | bigint>, (x) => Number(x));
  return { name, type, shape, data };
}

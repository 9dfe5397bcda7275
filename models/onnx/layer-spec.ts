import { EdgeloopError } from '../../protocol/errors.ts';

/** One layer of a tfjs-layers topology, as model.json stores it (snake_case config keys). */
export interface LayerSpec {
  className: string;
  name: string;
  config: Record<string, unknown>;
}

/** The error for anything the exporter cannot convert faithfully; names the layer. */
export function unsupported(layer: LayerSpec | undefined, what: string): EdgeloopError {
  const where = layer ? `layer "${layer.name}" (${layer.className}): ` : '';
  return new EdgeloopError('UNSUPPORTED_MODEL', `ONNX export: ${where}${what}`);
}

/** A number config value, or `fallback` when absent/null. */
export function num(layer: LayerSpec, key: string, fallback?: number): number {
  const value = layer.config[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw unsupported(layer, `${key} must be a number`);
  return value;
}

/** A string config value, or `fallback` when absent/null. */
export function str(layer: LayerSpec, key: string, fallback?: string): string {
  const value = layer.config[key] ?? fallback;
  if (typeof value !== 'string') throw unsupported(layer, `${key} must be a string`);
  return value;
}

/** A boolean config value, or `fallback` when absent/null. */
export function bool(layer: LayerSpec, key: string, fallback: boolean): boolean {
  const value = layer.config[key] ?? fallback;
  if (typeof value !== 'boolean') throw unsupported(layer, `${key} must be a boolean`);
  return value;
}

/** A 2-D size (kernel, strides, dilation): `n` or `[n, m]`, positive integers. */
export function pair(layer: LayerSpec, key: string, fallback?: [number, number]): [number, number] {
  const raw = layer.config[key] ?? fallback;
  const value = typeof raw === 'number' ? [raw, raw] : raw;
  if (!Array.isArray(value) || value.length !== 2 || !value.every((n) => Number.isInteger(n) && n > 0)) {
    throw unsupported(layer, `${key} must be one or two positive integers, got ${JSON.stringify(raw)}`);
  }
  return [value[0], value[1]];
}

/** Refuses `data_format: channels_first` (tfjs stores channels_last unless told otherwise). */
export function requireChannelsLast(layer: LayerSpec): void {
  const format = layer.config.data_format ?? 'channels_last';
  if (format !== 'channels_last') throw unsupported(layer, `data_format "${String(format)}" (only channels_last)`);
}

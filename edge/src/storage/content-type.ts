const byExtension: Record<string, string> = {
  json: 'application/json',
  bin: 'application/octet-stream',
  onnx: 'application/octet-stream',
  wasm: 'application/wasm',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
};

/**
 * Content type served for a model file, from its extension (the upload's own type is not
 * trusted, so the same path always serves the same type).
 *
 * @example
 * contentTypeFor('model.json') // 'application/json'
 */
export function contentTypeFor(path: string): string {
  const dot = path.lastIndexOf('.');
  const extension = dot < 0 ? '' : path.slice(dot + 1).toLowerCase();
  return byExtension[extension] ?? 'application/octet-stream';
}

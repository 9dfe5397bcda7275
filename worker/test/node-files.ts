// The worker's tsconfig has no Node types (worker code must not use Node), yet tests read the
// committed model artifacts from disk: this one typed bridge reaches node:fs without them.
interface NodeFs {
  readFileSync(path: URL): Uint8Array;
}
const { process } = globalThis as unknown as { process: { getBuiltinModule(id: 'node:fs'): NodeFs } };
const fs = process.getBuiltinModule('node:fs');

/** Bytes of a file in the repository, by path from its root. */
export function readRepoFile(path: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(new URL(`../../${path}`, import.meta.url)));
}

/** Directory prefix of tfjs-backend-wasm's .wasm files for Node runs. */
export const NODE_WASM_PATH = new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url)
  .pathname;

/**
 * Capability detection: the only module that looks at `navigator.gpu`, `WebAssembly`,
 * `indexedDB`,
 * `crossOriginIsolated` and `self.location`. Everything else receives a {@link RuntimeEnv}, which
 * keeps the rest of the worker testable in Node.
 */

/** Facts about a WebGPU adapter; SwiftShader reports architecture "swiftshader" and isFallbackAdapter true. */
export interface AdapterFacts {
  architecture: string;
  vendor: string;
  isFallbackAdapter: boolean;
}

export type WebGpuSupport = { available: true; adapter: AdapterFacts } | { available: false; reason: string };

export interface RuntimeEnv {
  webgpu: WebGpuSupport;
  wasm: { available: boolean; simd: boolean };
  indexedDB: boolean;
  /**
   * URL of the worker script (relative asset paths resolve against it), or null outside a
   * browser. Never a `blob:` URL: a blob-started worker reports the module it imported.
   */
  scriptUrl: string | null;
  /** True where COOP/COEP let wasm use threads (SharedArrayBuffer); absent means not isolated. */
  crossOriginIsolated?: boolean;
  /** True where WebAssembly JSPI exists (`WebAssembly.Suspending`), which ORT's WebGPU build needs. */
  jspi?: boolean;
}

// WebGPU is not in TypeScript's WebWorker lib; these are the few members read here.
interface GpuAdapterInfoLike {
  architecture?: string;
  vendor?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  /** Chrome < 135 exposed this on the adapter rather than on `info`. */
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(): Promise<GpuAdapterLike | null>;
}

// The smallest module using a v128 instruction: validates only where wasm SIMD is supported.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

async function detectWebGpu(): Promise<WebGpuSupport> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) return { available: false, reason: 'navigator.gpu is missing (no WebGPU in this runtime)' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { available: false, reason: 'navigator.gpu.requestAdapter() returned no adapter' };
    const info = adapter.info ?? {};
    return {
      available: true,
      adapter: {
        architecture: info.architecture ?? '',
        vendor: info.vendor ?? '',
        isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
      },
    };
  } catch (error) {
    return { available: false, reason: `requestAdapter failed: ${String(error)}` };
  }
}

function detectWasm(): RuntimeEnv['wasm'] {
  if (typeof WebAssembly !== 'object') return { available: false, simd: false };
  let simd = false;
  try {
    simd = WebAssembly.validate(SIMD_PROBE);
  } catch {
    // validate throws only on engines too old to know SIMD, which means no SIMD.
  }
  return { available: true, simd };
}

/**
 * The worker's script URL. A worker the script tag starts from a `blob:` module (web/embed/
 * blob-worker.ts) has the blob as its location: on the host page's origin, and no base for a
 * relative path (`new URL('/ort/…', 'blob:…')` throws). Its code is the edge's module, though,
 * so this module's own URL (on the edge that served the worker) stands in.
 */
function detectScriptUrl(): string | null {
  const href = (globalThis as { location?: { href?: string } }).location?.href;
  if (!href) return null;
  return href.startsWith('blob:') ? import.meta.url : href;
}

/**
 * Probes the current runtime once.
 *
 * @example
 * const env = await detectEnv();
 * if (env.webgpu.available && env.webgpu.adapter.isFallbackAdapter) console.log('software WebGPU');
 */
export async function detectEnv(): Promise<RuntimeEnv> {
  return {
    webgpu: await detectWebGpu(),
    wasm: detectWasm(),
    indexedDB: typeof indexedDB !== 'undefined',
    scriptUrl: detectScriptUrl(),
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    jspi: typeof WebAssembly === 'object' && typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function',
  };
}

/** The part of the Web Locks API the sync uses. */
export interface LockManagerLike {
  request<T>(name: string, options: { ifAvailable?: boolean }, run: (lock: unknown) => Promise<T>): Promise<T>;
}

/** The part of navigator.storage retention uses. */
export interface StorageManagerLike {
  persist?(): Promise<boolean>;
  estimate?(): Promise<{ usage?: number; quota?: number }>;
}

/**
 * Browser services the sync uses, each null where the runtime lacks it. Unlike {@link RuntimeEnv}
 * these are live objects; tests pass fakes.
 */
export interface SyncPlatform {
  locks: LockManagerLike | null;
  storage: StorageManagerLike | null;
  /** gzip-compresses bytes (CompressionStream), or null where that is missing. */
  gzip: ((bytes: Uint8Array) => Promise<Uint8Array>) | null;
  /** navigator.onLine, true where unknown (the attempt then tells). */
  online(): boolean;
  /** Calls `listener` on the `online` event; returns the unsubscribe. */
  onOnline(listener: () => void): () => void;
  /** Opens a BroadcastChannel (to the other tabs of this origin), or null where there is none. */
  broadcast: ((name: string) => BroadcastChannel) | null;
}

/**
 * Finds the sync's browser services in this runtime (a worker or a page).
 *
 * @example
 * const platform = detectSyncPlatform();
 * if (!platform.locks) console.log('no Web Locks: an IndexedDB lease keeps one tab syncing');
 */
export function detectSyncPlatform(): SyncPlatform {
  const nav = (
    globalThis as { navigator?: { locks?: LockManagerLike; storage?: StorageManagerLike; onLine?: boolean } }
  ).navigator;
  const target = globalThis as { addEventListener?: EventTarget['addEventListener'] } & Partial<EventTarget>;
  return {
    locks: typeof nav?.locks?.request === 'function' ? nav.locks : null,
    storage: nav?.storage ?? null,
    gzip: typeof CompressionStream === 'function' ? gzipBytes : null,
    broadcast: typeof BroadcastChannel === 'function' ? (name) => new BroadcastChannel(name) : null,
    online: () => nav?.onLine !== false,
    onOnline: (listener) => {
      if (typeof target.addEventListener !== 'function' || typeof target.removeEventListener !== 'function') {
        return () => undefined;
      }
      target.addEventListener('online', listener);
      return () => target.removeEventListener?.('online', listener);
    },
  };
}

async function gzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

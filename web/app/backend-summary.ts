import type { BackendReport } from '../../protocol/worker-api.ts';

export interface BackendSummary {
  /** One line: the backend that runs and how it was chosen. */
  headline: string;
  /** Why other backends did not run, and any caveat about the one that does. */
  notes: string[];
}

/**
 * Says in words what a load's backend report means, never hiding a fallback: a software
 * WebGPU adapter (SwiftShader) is named as such, with how much slower it measured.
 *
 * @example
 * describeBackend(report).notes; // ["webgpu: SwiftShader fallback adapter, 25× slower than wasm"]
 */
export function describeBackend(report: BackendReport): BackendSummary {
  const { backend, requested, warmupMs, skipped, adapter } = report;
  const timings = Object.entries(warmupMs)
    .sort(([, a], [, b]) => a - b)
    .map(([name, ms]) => `${name} ${formatMs(ms)}`)
    .join(', ');
  const headline =
    requested === 'auto' ? `${backend} (auto: fastest warm-up of ${timings})` : `${backend} (requested; ${timings})`;

  const notes: string[] = [];
  if (adapter?.isFallbackAdapter) {
    const name = `${adapterName(adapter.architecture)} fallback adapter`;
    const ratio = slowdown(warmupMs, 'webgpu', backend);
    if (backend === 'webgpu') notes.push(`webgpu runs on a software ${name}: correct, but slow`);
    else notes.push(`webgpu: ${name}, ${ratio ? `${ratio} slower than ${backend}` : (skipped.webgpu ?? 'not used')}`);
  }
  // With an explicit backend the others were simply not asked for, which says nothing.
  if (requested === 'auto') {
    for (const [name, reason] of Object.entries(skipped)) {
      if (name === 'webgpu' && adapter?.isFallbackAdapter) continue;
      notes.push(`${name} skipped: ${reason}`);
    }
  }
  return { headline, notes };
}

function adapterName(architecture: string): string {
  if (architecture.toLowerCase() === 'swiftshader') return 'SwiftShader';
  return architecture || 'software';
}

/** "25×" when `slow` measured that many times `fast`'s warm-up, or null without both timings. */
function slowdown(warmupMs: Record<string, number>, slow: string, fast: string): string | null {
  const a = warmupMs[slow];
  const b = warmupMs[fast];
  if (a === undefined || b === undefined || b <= 0 || a <= b) return null;
  const ratio = a / b;
  return `${ratio >= 10 ? Math.round(ratio) : ratio.toFixed(1)}×`;
}

function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(2) : Math.round(ms)} ms`;
}

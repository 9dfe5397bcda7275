import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = new URL('../../node_modules/.bin/', import.meta.url).pathname;

/** Environment for wrangler (also inside vitest-pool-workers): no telemetry, no network probes, its logs and dev registry inside the repo. */
export function wranglerEnv(root: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_LOG_PATH: join(root, '.wrangler/logs'),
    WRANGLER_REGISTRY_PATH: join(root, '.wrangler/registry'),
    // Keep npm's Node 22 first on PATH for the tools' own child processes.
    PATH: `${BIN}:${process.env.PATH ?? ''}`,
  };
}

/** Runs a project binary to completion; rejects with its exit code. */
export function runBin(name: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${BIN}${name}`, args, { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${name} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

/**
 * Starts a long-running project binary in its own process group, so that
 * {@link stopGroup} ends it together with the processes it started (workerd).
 */
export function startBin(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(`${BIN}${name}`, args, { stdio: ['ignore', 'inherit', 'inherit'], env, detached: true });
}

export function stopGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** Polls `url` until it answers 200 or the child exits or the deadline passes. */
export async function waitForHealthy(url: string, child: ChildProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the edge exited (code ${child.exitCode}) before it was ready`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

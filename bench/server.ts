import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts `npm start`'s server on its own port and empty state; resolves once the demo model is
 * published. `log()` is what it printed since (stdout and stderr; stderr is shown as well).
 */
export async function startServer(port: number): Promise<{ url: string; log(): string; stop(): void }> {
  const child: ChildProcess = spawn(
    'bash',
    ['-c', `rm -rf .wrangler/bench-state && exec ${root}node_modules/.bin/node scripts/start.ts`],
    {
      cwd: root,
      env: { ...process.env, PORT: String(port), EDGELOOP_STATE: '.wrangler/bench-state' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  let ready = -1;
  child.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    out += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (ready < 0 && out.includes('Edgeloop is running at')) {
        ready = out.length;
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`npm start exited (${code}) before it was ready:\n${out}`)));
  });
  return {
    url,
    log: () => out.slice(ready),
    stop: () => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    },
  };
}

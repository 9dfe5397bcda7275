import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Starts `npm start`'s server on its own port and empty state; resolves once the demo model is published. */
export async function startServer(port: number): Promise<{ url: string; stop(): void }> {
  const child: ChildProcess = spawn(
    'bash',
    ['-c', `rm -rf .wrangler/bench-state && exec ${root}node_modules/.bin/node scripts/start.ts`],
    {
      cwd: root,
      env: { ...process.env, PORT: String(port), EDGELOOP_STATE: '.wrangler/bench-state' },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Edgeloop is running at')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`npm start exited (${code}) before it was ready:\n${out}`)));
  });
  return {
    url,
    stop: () => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    },
  };
}

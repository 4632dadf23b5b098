// Baseline "a real peer": quickjs-emscripten (QuickJS compiled to WebAssembly), the sandbox a
// user of Node picks when isolated-vm's native module is not wanted, behind the same minimal
// HTTP front as the fork server (minimal-front.ts). Executions run in a Piscina pool of
// QUICKJS_THREADS worker threads (default: one per core, as chariot-exec's default), each
// with a fresh QuickJS runtime and context (quickjs-worker.ts).
//
// Kept fair: the WebAssembly module is loaded once per thread, not per execution; keep-alive
// connections; no artificial delay; Piscina's defaults otherwise (one task per thread at a
// time, which suits code that holds its thread until it ends), and no cap on the queue, as
// the common minimal server has none.
// Run alone: PORT=8089 QUICKJS_USERS=a:b node dist/bench/baselines/quickjs-server.js
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { serveMinimalFront, serverEnv, type ExecutionReply } from './minimal-front.js';

const WORKER = new URL('./quickjs-worker.js', import.meta.url).href;

const env = serverEnv();
const threads = Number(env.QUICKJS_THREADS ?? availableParallelism());
if (!Number.isInteger(threads) || threads < 1) throw new Error(`QUICKJS_THREADS must be a positive integer, got ${env.QUICKJS_THREADS}`);
const pool = new Piscina<string, ExecutionReply>({ filename: WORKER, minThreads: threads, maxThreads: threads, idleTimeout: Number.POSITIVE_INFINITY });

async function execute(program: string): Promise<ExecutionReply> {
  try {
    return await pool.run(program);
  } catch (error) {
    // The thread itself failed (Piscina replaces it): the execution ends as an error, the server goes on.
    return { ok: false, error: `The worker thread failed: ${error instanceof Error ? error.message : String(error)}`, logs: [] };
  }
}

await serveMinimalFront({
  name: `quickjs-emscripten baseline (${threads} threads)`,
  usersVariable: 'QUICKJS_USERS',
  defaultPort: 8089,
  execute,
  close: () => pool.close(),
});

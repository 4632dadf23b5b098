// The server under benchmark, in a process of its own so that the clients' work does not share
// its event loop: `fork`ed by bench/sse.ts with --expose-gc, configured by the environment it
// is given, it answers over IPC with its URL once listening, and with its memory (after a full
// garbage collection) whenever asked.
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';

export interface MemorySample {
  /** Resident set size, bytes. */
  readonly rss: number;
  /** V8 heap in use, bytes. */
  readonly heapUsed: number;
  /** Memory of Buffers and other objects outside the V8 heap, bytes. */
  readonly external: number;
}

export type ServerReport = { readonly kind: 'listening'; readonly url: string } | { readonly kind: 'memory'; readonly sample: MemorySample };
export type ServerRequest = { readonly kind: 'measure' } | { readonly kind: 'stop' };

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('bench/sse-server needs --expose-gc');
  // Twice: the first pass can leave garbage that only its finalizers released.
  gc();
  gc();
}

async function main(): Promise<void> {
  const send = (report: ServerReport): void => void process.send?.(report);
  const server = await startServer(loadConfig(process.env));
  process.on('message', (request: ServerRequest) => {
    if (request.kind === 'measure') {
      collect();
      const { rss, heapUsed, external } = process.memoryUsage();
      send({ kind: 'memory', sample: { rss, heapUsed, external } });
    } else {
      void server.close().then(() => process.exit(0));
    }
  });
  send({ kind: 'listening', url: server.url });
}

main().catch((error: unknown) => {
  console.error('bench/sse-server:', error);
  process.exit(1);
});

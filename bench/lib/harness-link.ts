// The child side of the harness's IPC (see server-ipc.ts), for any server the harness runs:
// it reports its URL, answers memory readings (after a collection: children run with
// --expose-gc), closes on request, and does not outlive a harness that went away.
import type { FromServer, ToServer } from './server-ipc.js';

function send(message: FromServer): void {
  process.send?.(message);
}

export function answerHarness(url: string, close: () => Promise<void>): void {
  process.on('message', (message: ToServer) => {
    if (message.kind === 'memory') {
      globalThis.gc?.();
      const usage = process.memoryUsage();
      send({ kind: 'memory', rssBytes: usage.rss, heapUsedBytes: usage.heapUsed });
    } else if (message.kind === 'close') {
      void close().then(() => {
        send({ kind: 'closed' });
        process.disconnect();
      });
    }
  });
  process.on('disconnect', () => void close());
  send({ kind: 'ready', url });
}

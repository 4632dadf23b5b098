// The child process that runs chariot-exec for the harness: `startServer(loadConfig(env))`
// with the variables passed as JSON in argv[2], then answers the harness over IPC.
//
// The server runs in a process of its own so that the load generator (the harness's event
// loop) does not share a main thread with the server it measures. Started with
// --expose-gc so that memory is read after a collection, not at a random heap size.
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import type { FromServer, ServerEnv, ToServer } from './server-ipc.js';

const env = JSON.parse(process.argv[2] ?? '{}') as ServerEnv;
const server = await startServer(loadConfig(env));

function send(message: FromServer): void {
  process.send?.(message);
}

process.on('message', (message: ToServer) => {
  if (message.kind === 'memory') {
    globalThis.gc?.();
    const usage = process.memoryUsage();
    send({ kind: 'memory', rssBytes: usage.rss, heapUsedBytes: usage.heapUsed });
  } else if (message.kind === 'close') {
    void server.close().then(() => {
      send({ kind: 'closed' });
      process.disconnect();
    });
  }
});
// The harness gone (it crashed or was interrupted): do not outlive it.
process.on('disconnect', () => void server.close());
send({ kind: 'ready', url: server.url });

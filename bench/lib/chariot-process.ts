// The child process that runs chariot-exec for the harness: `startServer(loadConfig(env))`
// with the variables passed as JSON in argv[2], then answers the harness over IPC.
//
// The server runs in a process of its own so that the load generator (the harness's event
// loop) does not share a main thread with the server it measures. Started with
// --expose-gc so that memory is read after a collection, not at a random heap size.
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { answerHarness } from './harness-link.js';
import type { ServerEnv } from './server-ipc.js';

const env = JSON.parse(process.argv[2] ?? '{}') as ServerEnv;
const server = await startServer(loadConfig(env));

answerHarness(server.url, () => server.close());

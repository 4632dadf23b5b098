// `npm start`: reads the configuration, starts the service, and stops it cleanly on
// SIGTERM/SIGINT (running scripts cancelled, SSE streams ended with `done`, exit 0).
import { ConfigError, loadConfig, type Config } from './config.js';
import { startServer, type RunningServer } from './server.js';

const SHUTDOWN_LIMIT_MS = 10_000;

function announce(config: Config, url: string): void {
  console.log(`chariot-exec listening on ${url}`);
  if (config.usingDefaultUsers) {
    console.warn('');
    console.warn('  !!! DEVELOPMENT DEFAULT: log in as admin / admin.');
    console.warn('  !!! Set CHARIOT_USERS=name:password,... before exposing this server;');
    console.warn('  !!! NODE_ENV=production refuses to start without it.');
    console.warn('');
  } else {
    console.log(`users: ${config.users.map((user) => user.username).join(', ')}`);
  }
  console.log(`try: curl -c cookies.txt -H 'Content-Type: application/json' -d '{"username":"...","password":"..."}' ${url}/login`);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`chariot-exec: configuration error: ${error.message}`);
    process.exit(1);
  }
  const server = await startServer(config);
  announce(config, server.url);

  const stop = (signal: NodeJS.Signals): void => {
    console.log(`chariot-exec: ${signal} received, shutting down`);
    setTimeout(() => {
      console.error('chariot-exec: shutdown took too long, exiting');
      exit(server, 1, signal);
    }, SHUTDOWN_LIMIT_MS).unref();
    server.close().then(() => exit(server, 0, signal), (error: unknown) => {
      console.error('chariot-exec: shutdown failed', error);
      exit(server, 1, signal);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/**
 * Ends the process. process.exit waits for every worker thread, and a thread holding a
 * quarantined isolate never ends (see worker/sandbox.ts): then, once everything else has
 * been closed, the process ends by the signal it was stopped with (its listener is gone, so
 * the default action applies), or by SIGKILL after a failed shutdown.
 */
function exit(server: RunningServer, code: number, signal: NodeJS.Signals): void {
  if (!server.manager.pinned) process.exit(code);
  const by = code === 0 ? signal : 'SIGKILL';
  console.error(`chariot-exec: a worker thread holds a quarantined isolate and cannot stop; ending the process by ${by}`);
  process.kill(process.pid, by);
}

main().catch((error: unknown) => {
  console.error('chariot-exec: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

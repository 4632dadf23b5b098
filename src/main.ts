// `npm start`: reads the configuration, starts the service, and stops it cleanly on
// SIGTERM/SIGINT (running scripts cancelled, SSE streams ended with `done`, exit 0).
import { ConfigError, loadConfig, type Config } from './config.js';
import { startServer } from './server.js';

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

  const stop = (signal: string): void => {
    console.log(`chariot-exec: ${signal} received, shutting down`);
    setTimeout(() => {
      console.error('chariot-exec: shutdown took too long, exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    server.close().then(() => process.exit(0), (error: unknown) => {
      console.error('chariot-exec: shutdown failed', error);
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('chariot-exec: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

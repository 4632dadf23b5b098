// `npm start`: checks the permission model's grants (src/permissions.ts), reads the
// configuration, starts the service, and stops it cleanly on SIGTERM/SIGINT (running scripts
// cancelled, SSE streams ended with `done`, exit 0; in Redis mode it drains first: see
// RunningServer.drain()). A server that reached
// CHARIOT_QUARANTINE_LIMIT drains (CHARIOT_DRAIN_MS) and ends itself so that its supervisor
// starts it again (exit status RESTART_EXIT_CODE, or SIGKILL when a thread pins the process).
//
// Modules of ours are imported only after the permission check: under the permission model
// Node reads this entry file whatever the grants, but nothing else of the app without
// --allow-fs-read of its folder, and even then the refusal must say what is missing.
import { fileURLToPath } from 'node:url';
import type { Config } from './config.js';
import type { RunningServer } from './server.js';

const SHUTDOWN_LIMIT_MS = 10_000;
/** EX_TEMPFAIL (sysexits.h): a temporary failure, to be tried again, as a supervisor does. */
const RESTART_EXIT_CODE = 75;

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

/**
 * The refusal when not even src/permissions.ts can be read: the app folder is not readable.
 * Same words as permissions.ts's refusal(), which cannot be loaded to say them.
 */
function appFolderUnreadable(error: unknown): never {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_ACCESS_DENIED') throw error;
  const folder = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
  console.error(`chariot-exec: the permission model denies reading the app folder ${folder}: start node with --allow-fs-read=${folder} (see README "Permissions")`);
  process.exit(1);
}

async function main(): Promise<void> {
  const permissions = await import('./permissions.js').catch(appFolderUnreadable);
  const missing = permissions.checkPermissions();
  if (missing !== undefined && missing.length > 0) {
    console.error(permissions.refusal(missing));
    process.exit(1);
  }
  permissions.dropMainThreadGrants();
  const { ConfigError, loadConfig } = await import('./config.js');
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`chariot-exec: configuration error: ${error.message}`);
    process.exit(1);
  }
  if (missing === undefined) console.warn(permissions.UNGUARDED_WARNING);
  // Before the pool starts, so that it hears every worker say it listens.
  const reportMain = config.testProbeChannel === undefined ? undefined : (await import('./test-probe.js')).answerProbes(config.testProbeChannel, config.threads);
  const { startServer } = await import('./server.js');
  const server = await startServer(config);
  reportMain?.(() => server.manager.idleCollections);
  announce(config, server.url);

  let stopping = false;
  /** Closes the server, then ends the process with `code` (by `signal` when pinned and all went well). */
  const shutDown = (code: number, signal: NodeJS.Signals | undefined): void => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      console.error('chariot-exec: shutdown took too long, exiting');
      exit(server, code === 0 ? 1 : code, undefined);
    }, SHUTDOWN_LIMIT_MS).unref();
    server.close().then(() => exit(server, code, signal), (error: unknown) => {
      console.error('chariot-exec: shutdown failed', error);
      exit(server, code === 0 ? 1 : code, undefined);
    });
  };
  const stop = (signal: NodeJS.Signals): void => {
    if (config.redisUrl === undefined || stopping) {
      console.log(`chariot-exec: ${signal} received, shutting down`);
      return shutDown(0, signal);
    }
    // Redis mode: the other instances take over what waits, and this one's streams resume there.
    console.log(`chariot-exec: ${signal} received, draining: running executions get up to ${config.drainMs} ms (CHARIOT_DRAIN_MS) to finish, then are cancelled`);
    stopping = true;
    setTimeout(() => {
      console.error('chariot-exec: draining took too long, exiting');
      exit(server, 1, undefined);
    }, config.drainMs + SHUTDOWN_LIMIT_MS).unref();
    server.drain(config.drainMs).then(() => exit(server, 0, signal), (error: unknown) => {
      console.error('chariot-exec: draining failed', error);
      exit(server, 1, undefined);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  server.manager.onRestartNeeded(() => {
    const { quarantined } = server.manager.stats;
    console.error(`chariot-exec: ${quarantined} isolates were set aside (CHARIOT_QUARANTINE_LIMIT ${config.quarantineLimit}): `
      + `restarting; running executions get up to ${config.drainMs} ms (CHARIOT_DRAIN_MS) to finish, then are cancelled`);
    void server.manager.whenIdle(config.drainMs).then(() => {
      if (!stopping) console.error('chariot-exec: drained; ending the process for its supervisor to start it again');
      shutDown(RESTART_EXIT_CODE, undefined);
    });
  });
}

/**
 * Ends the process. process.exit waits for every worker thread, and a thread holding a
 * quarantined isolate never ends (see worker/sandbox.ts): then, once everything else has
 * been closed, the process ends by the signal it was stopped with (its listener is gone, so
 * the default action applies), or by SIGKILL after a failed shutdown or for a restart (a
 * supervisor restarts a process killed by SIGKILL; systemd's Restart=on-failure does not
 * restart one that ended by SIGTERM).
 */
function exit(server: RunningServer, code: number, signal: NodeJS.Signals | undefined): void {
  if (!server.manager.pinned) process.exit(code);
  const by = code === 0 && signal !== undefined ? signal : 'SIGKILL';
  console.error(`chariot-exec: a worker thread holds a quarantined isolate and cannot stop; ending the process by ${by}`);
  process.kill(process.pid, by);
}

main().catch((error: unknown) => {
  console.error('chariot-exec: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

// A real redis-server for the scale-out tests: started by the test itself, in the foreground, on
// an ephemeral port on 127.0.0.1, with its data and log in a fresh temporary directory, never the
// system service. Persistence is on (append-only file, fsync on every write) so that a test can
// stop, kill and restart it and find its data again, as a production Redis would keep it; nothing
// is evicted (noeviction), so that a full Redis is an error a test sees, not silently lost keys.
// Readiness and the commands below speak raw RESP over node:net: no client library, so that what
// the tests learn about Redis does not depend on the one the server uses. Missing redis-server is
// an error, never a skip (.ci/run installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface RedisProcess {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Its data directory (the append-only file is in appendonlydir/ there) and its log, redis.log. */
  readonly dir: string;
  /** Stops it with SIGTERM (redis flushes AOF), waits for exit. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, waits for exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and dir (data kept via AOF); waits until it answers PING. */
  start(): Promise<void>;
  /** Stops it and deletes the data dir. */
  close(): Promise<void>;
}

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];
const READY_WITHIN_MS = 10_000;
const POLL_MS = 20;
const STOP_WITHIN_MS = 10_000;

function redisBinary(): string {
  const found = CANDIDATES.find((path) => existsSync(path)) ?? spawnSync('sh', ['-c', 'command -v redis-server']).stdout.toString().trim();
  if (found === '') {
    throw new Error('redis-server is not installed: the scale-out tests need it (apt-get install -y redis-server; .ci/run installs it)');
  }
  return found;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a new connection to `port` answers PING with exactly +PONG (not, say, -LOADING). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (pong: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(pong);
    };
    const timer = setTimeout(() => done(false), 1000);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply === '+PONG\r\n');
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** Where the RESP2 reply that starts at `at` ends, or -1 while it is incomplete. */
function replyEnd(data: Buffer, at: number): number {
  const eol = data.indexOf('\r\n', at);
  if (eol < 0) return -1;
  const type = String.fromCharCode(data[at]!);
  if (type === '+' || type === '-' || type === ':') return eol + 2;
  const n = Number(data.toString('latin1', at + 1, eol));
  if (type === '$') return n < 0 ? eol + 2 : data.length >= eol + 2 + n + 2 ? eol + 2 + n + 2 : -1;
  if (type === '*') {
    let end = eol + 2;
    for (let i = 0; i < n && end >= 0; i++) end = replyEnd(data, end);
    return end;
  }
  throw new Error(`not a RESP reply: ${JSON.stringify(data.toString('utf8'))}`);
}

/**
 * Sends one command over a new connection to the redis-server on `port` and resolves with its raw
 * RESP reply, e.g. `redisCommand(port, 'GET', 'k')` → `'$1\r\nv\r\n'`. An error reply (`-ERR …`)
 * is a reply like any other, for the caller to assert on.
 */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  const command = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    const fail = (why: string): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`redis ${args.join(' ')} on port ${port}: ${why}${data.length > 0 ? `; got ${JSON.stringify(data.toString('utf8'))}` : ''}`));
    };
    const timer = setTimeout(() => fail('no complete reply within 5 s'), 5000);
    socket.once('connect', () => socket.write(command));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      let end: number;
      try {
        end = replyEnd(data, 0);
      } catch (error) {
        fail((error as Error).message);
        return;
      }
      if (end < 0) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(data.toString('utf8', 0, end));
    });
    socket.once('error', (error) => fail(error.message));
    socket.once('close', () => fail('the connection closed'));
  });
}

interface Running {
  readonly child: ChildProcess;
  /** Settles when the process has exited (or could not be spawned). */
  readonly exit: Promise<void>;
  /** How it ended, once it has. */
  exited: string | undefined;
  output: string;
}

/** Starts a redis-server of its own for the caller and resolves once it answers PING. */
export async function startRedis(): Promise<RedisProcess> {
  const binary = redisBinary();
  const dir = mkdtempSync(join(tmpdir(), 'chariot-redis-'));
  const logFile = join(dir, 'redis.log');
  let port: number;
  try {
    port = await freePort();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const args = [
    '--daemonize', 'no',
    '--bind', '127.0.0.1',
    '--port', String(port),
    '--protected-mode', 'no',
    '--dir', dir,
    '--logfile', logFile,
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--save', '',
    '--maxmemory-policy', 'noeviction',
  ];
  let current: Running | undefined;
  let closed = false;

  const logTail = (): string => {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-40).join('\n') : '(no redis.log)';
    const output = current?.output.trim() ?? '';
    return `${output === '' ? '' : `${output}\n`}${log}`;
  };

  const spawnIt = (): Running => {
    const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const running: Running = {
      child,
      exited: undefined,
      output: '',
      exit: new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          running.exited = code === null ? String(signal) : `code ${String(code)}`;
          resolve();
        });
        child.once('error', (error) => {
          running.exited = `spawn error: ${error.message}`;
          resolve();
        });
      }),
    };
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (running.output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (running.output += chunk));
    return running;
  };

  const signal = async (name: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const running = current;
    if (running === undefined) return;
    if (running.exited === undefined) running.child.kill(name);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      running.exit.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_WITHIN_MS))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      running.child.kill('SIGKILL');
      await running.exit;
      throw new Error(`redis-server on port ${port} did not exit within ${STOP_WITHIN_MS / 1000} s of ${name}, so it was killed. ${logTail()}`);
    }
  };

  const start = async (): Promise<void> => {
    if (closed) throw new Error('redis-server: start() after close()');
    if (current !== undefined && current.exited === undefined) throw new Error(`redis-server on port ${port} is already running`);
    const running = spawnIt();
    current = running;
    const deadline = Date.now() + READY_WITHIN_MS;
    for (;;) {
      if (running.exited !== undefined) {
        throw new Error(`redis-server on port ${port} did not start: it exited (${running.exited}). ${logTail()}`);
      }
      if (await answersPing(port)) return;
      if (Date.now() >= deadline) break;
      await sleep(POLL_MS);
    }
    running.child.kill('SIGKILL');
    await running.exit;
    throw new Error(`redis-server on port ${port} did not start: it did not answer PING within ${READY_WITHIN_MS / 1000} s. ${logTail()}`);
  };

  const close = async (): Promise<void> => {
    closed = true;
    try {
      await signal('SIGTERM');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    start,
    close,
  };
}

/** A redis-server of its own for the test file (mocha before/after hooks), deleted afterwards. */
export function useRedis(): { readonly url: string; readonly process: RedisProcess } {
  let redis: RedisProcess | undefined;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.close();
    redis = undefined;
  });
  const running = (): RedisProcess => {
    if (redis === undefined) throw new Error('redis-server is not running (useRedis: used outside its before/after hooks)');
    return redis;
  };
  return {
    get url() {
      return running().url;
    },
    get process() {
      return running();
    },
  };
}

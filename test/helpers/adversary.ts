// Helpers of the adversarial suites: escape payloads that try to write a marker file through
// whatever host object they obtain, a server in a process of its own for the attacks that take
// the whole process down (a test process must survive them), deadlines that turn a hang into
// a failure, and the "bystander" execution another user runs during an attack.
import { expect } from 'chai';
import { spawn, type ChildProcess, type Serializable } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from './client.js';
import { asObject, expectLogEntries } from './expectations.js';
import { getResult, submit } from './executions.js';
import { withRedisMode } from './redis-mode.js';
import { loginAs, PASSWORDS, type User } from './server.js';
import type { SseStream } from './sse.js';
import { expectEntriesThenDone } from './streams.js';

/** A path no test has used: a payload that escaped writes it. */
export function markerPath(): string {
  return join(tmpdir(), `chariot-escape-${randomUUID()}`);
}

/** Asserts the marker was not written (and removes it if it was, so a rerun starts clean). */
export function expectNoMarker(marker: string): void {
  const written = existsSync(marker);
  if (written) rmSync(marker, { force: true });
  expect(written, `the marker file ${marker} was written: the payload reached the host`).to.equal(false);
}

/**
 * Source placed before each escape payload. `pwn(found, how)` takes anything an attack got hold
 * of and tries to turn it into the host's file system: a host object's constructor chain leads
 * to the host realm's Function, whose code sees `process`, and process.getBuiltinModule or
 * mainModule.require give `fs`; a `require` in scope is tried too. Only constructors named
 * `Function` are called, so nothing the host installed (logPrint, an entry point) is invoked by
 * mistake. `callers(fn)` climbs Function.prototype.caller. `guarded(fn)` runs fn unless a
 * guarded fn is already running (a trap or accessor that calls `pwn` re-enters itself through
 * pwn's own property reads, pushes and loops). `verdict()` is "contained" unless some step
 * wrote the marker.
 */
export function escapePrelude(marker: string): string {
  return `const MARKER = ${JSON.stringify(marker)};
const escaped = [];
function pwn(found, how) {
  const steps = [
    (x) => x,
    (x) => x.constructor,
    (x) => x.constructor.constructor,
    (x) => Object.getPrototypeOf(x).constructor,
    (x) => Object.getPrototypeOf(x).constructor.constructor,
  ];
  for (const step of steps) {
    let candidate;
    try { candidate = step(found); } catch { continue; }
    let proc;
    try {
      if (typeof candidate === 'function' && candidate.name === 'Function') {
        proc = candidate('return typeof process === "undefined" ? undefined : process')();
      } else if (candidate !== null && typeof candidate === 'object' && 'pid' in candidate) {
        proc = candidate;
      }
      if (proc === null || typeof proc !== 'object') continue;
      const fs = typeof proc.getBuiltinModule === 'function' ? proc.getBuiltinModule('fs') : proc.mainModule.require('fs');
      fs.writeFileSync(MARKER, String(how));
      escaped.push(String(how));
      return true;
    } catch { continue; }
  }
  try {
    if (typeof require === 'function') {
      require('fs').writeFileSync(MARKER, String(how));
      escaped.push(String(how) + ' (require)');
      return true;
    }
  } catch {}
  return false;
}
function callers(fn) {
  const found = [];
  let current = fn;
  for (let i = 0; i < 20; i++) {
    try { current = current.caller; } catch { break; }
    if (typeof current !== 'function' || found.includes(current)) break;
    found.push(current);
  }
  return found;
}
let busy = false;
function guarded(fn) {
  if (busy) return;
  busy = true;
  try { fn(); } finally { busy = false; }
}
function verdict() {
  return escaped.length === 0 ? 'contained' : 'ESCAPED via ' + escaped.join(', ');
}
`;
}

/** Rejects with `what` after `ms` unless `promise` settles first (the loser's rejection is handled). */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// The bystander: another user's ordinary execution, run while an attack is under way.

export const BYSTANDER_PROGRAM = 'logPrint("a"); await sleep(50); logPrint("b"); 7';

export interface Bystander {
  readonly id: string;
  readonly stream: SseStream;
}

/**
 * Submits the bystander program and waits for its first entry: it is then inside its
 * `sleep(50)`, the window in which the caller starts the attack.
 */
export async function startBystander(client: Client): Promise<Bystander> {
  const id = await submit(client, BYSTANDER_PROGRAM);
  const stream = await client.sse(`/api/logs/${id}`);
  expect(stream.status, 'bystander stream').to.equal(200);
  await stream.nthEvent(1);
  return { id, stream };
}

/** The bystander's whole stream (a, b, done completed) and its result (7, the same two entries). */
export async function expectBystanderIntact(client: Client, bystander: Bystander): Promise<void> {
  const events = await bystander.stream.untilDone();
  expectExactStream(events, [
    { level: 'INFO', message: 'a' },
    { level: 'INFO', message: 'b' },
  ], 'completed');
  const res = await getResult(client, bystander.id);
  expect(res.status, res.text).to.equal(200);
  const body = asObject(res.body);
  expect(body.status).to.equal('completed');
  expect(body.result).to.eql({ value: 7, type: 'number' });
  expectLogEntries(body.logs, [
    { level: 'INFO', message: 'a' },
    { level: 'INFO', message: 'b' },
  ]);
}

/** A stream of exactly these entries (seq 1..n, ids matching), then `done` with `status`. */
export const expectExactStream = expectEntriesThenDone;

// ---------------------------------------------------------------------------------------------
// A server in a process of its own (`node dist/src/main.js`), for attacks that abort or hang
// the process that runs them, and for the permission model that `npm start` puts it under.

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const USERS = Object.entries(PASSWORDS).map(([name, password]) => `${name}:${password}`).join(',');

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  login(user: User): Promise<Client>;
  /** The exit code or signal once the process has exited, else undefined. */
  exited(): string | undefined;
  /** Everything the process wrote to stdout and stderr. */
  output(): string;
  /** Resolves with the output once it matches `pattern` (stderr may trail stdout); rejects if the process exits first. */
  untilOutput(pattern: RegExp): Promise<string>;
  /** Resolves with how the process ended, or undefined if it is still running after `ms`. */
  waitExit(ms: number): Promise<string | undefined>;
  /** SIGKILL (a worker stuck in an isolate ignores everything else) and waits for the exit. */
  kill(): Promise<void>;
  /** Sends `message` on the IPC channel (`ipc: true`) and resolves with the next message back. */
  ask(message: Serializable): Promise<unknown>;
}

export interface SpawnOptions {
  /** Node flags before the entry point. Default: `--no-node-snapshot` alone. */
  readonly flags?: readonly string[];
  /** Working folder. Default: the temp folder (relative flags need the app folder: npm-start.ts). */
  readonly cwd?: string;
  /** Opens an IPC channel to the process (the test probe answers on it). Default false. */
  readonly ipc?: boolean;
}

/**
 * `node <flags> dist/src/main.js` with PORT=0, the test users and `env`. Through sh only to
 * switch core dumps off (an attack may abort the process), then exec'd: the child's pid is node's.
 */
function spawnMain(env: Readonly<Record<string, string>>, options: SpawnOptions): ChildProcess {
  const flags = options.flags ?? ['--no-node-snapshot'];
  return spawn('/bin/sh', ['-c', 'ulimit -c 0; exec "$0" "$@"', process.execPath, ...flags, MAIN], {
    cwd: options.cwd ?? tmpdir(),
    env: { PATH: process.env.PATH ?? '', PORT: '0', CHARIOT_USERS: USERS, ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc === true ? ['ipc' as const] : [])],
  });
}

/**
 * Starts the server on an ephemeral port with the test users; resolves once it listens. In Redis
 * mode (helpers/redis-mode.ts) on a redis-server of its own, closed once the process has exited.
 */
export async function spawnServer(env: Readonly<Record<string, string>>, options: SpawnOptions = {}): Promise<ServerProcess> {
  const { env: full, redis } = await withRedisMode(env);
  const started = spawnListening(full, options);
  started.catch(() => redis?.close());
  const server = await started;
  if (redis !== undefined) void server.waitExit(24 * 60 * 60 * 1000).finally(() => redis.close());
  return server;
}

function spawnListening(env: Readonly<Record<string, string>>, options: SpawnOptions): Promise<ServerProcess> {
  const child = spawnMain(env, options);
  let output = '';
  let exit: string | undefined;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exitedPromise = once(child, 'exit').then(([code, signal]) => {
    exit = code === null ? String(signal) : `code ${String(code)}`;
  });
  return new Promise((resolve, reject) => {
    const onData = (): void => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match) return;
      child.stdout!.off('data', onData);
      const url = match[1]!;
      resolve({
        url,
        pid: child.pid!,
        login: (user) => loginAs(url, user),
        exited: () => exit,
        output: () => output,
        untilOutput: (pattern) => new Promise((resolveOutput, rejectOutput) => {
          const check = (): void => {
            if (!pattern.test(output)) return;
            child.stdout!.off('data', check);
            child.stderr!.off('data', check);
            resolveOutput(output);
          };
          child.stdout!.on('data', check);
          child.stderr!.on('data', check);
          void exitedPromise.then(() => rejectOutput(new Error(`the server process exited (${exit}) before its output matched ${pattern}: ${output}`)));
          check();
        }),
        async waitExit(ms) {
          await within(ms, exitedPromise, 'exit').catch(() => undefined);
          return exit;
        },
        async kill() {
          if (exit === undefined) child.kill('SIGKILL');
          await exitedPromise;
        },
        async ask(message) {
          if (!child.connected) throw new Error('the server process has no IPC channel (spawn it with ipc: true)');
          const answer = once(child, 'message');
          const died = exitedPromise.then(() => {
            throw new Error(`the server process exited (${exit}) before it answered ${JSON.stringify(message)}`);
          });
          died.catch(() => undefined);
          child.send(message);
          const [reply] = await Promise.race([answer, died]);
          return reply;
        },
      });
    };
    child.stdout!.on('data', onData);
    void exitedPromise.then(() => reject(new Error(`the server process exited before listening (${exit}): ${output}`)));
  });
}

/**
 * Starts the server expecting it to refuse to start: its exit code and its standard error.
 * Rejects (and kills it) if it starts listening instead.
 */
export async function spawnRefused(env: Readonly<Record<string, string>>, options: SpawnOptions = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawnMain(env, options);
  let stderr = '';
  let stdout = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const started = new Promise<never>((_, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!/listening on/.test(stdout)) return;
      child.kill('SIGKILL');
      reject(new Error(`the server process started instead of refusing to: ${stdout}${stderr}`));
    });
  });
  started.catch(() => undefined);
  const [code] = await Promise.race([exited, started]);
  return { code, stderr };
}

/** What an HTTP call to a server process ended in: its answer, or how the process went away. */
export async function orProcessDeath<T>(server: ServerProcess, call: Promise<T>, ms: number, what: string): Promise<T> {
  try {
    return await within(ms, call, what);
  } catch (error) {
    // A dying process closes its sockets before it is reaped: wait for its exit, briefly.
    const exit = await server.waitExit(1000);
    const tail = server.output().split('\n').filter((line) => line.trim() !== '').slice(-12).join('\n');
    if (exit !== undefined) throw new Error(`${what}: the server process died (${exit}). Its last output:\n${tail}`);
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message} (the server process is still running; its last output:\n${tail})`);
  }
}

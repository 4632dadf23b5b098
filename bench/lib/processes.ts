// Starts a server under test in a child process and talks to it over IPC (see server-ipc.ts):
// chariot-exec itself (chariot-process.ts, of this checkout or of another build) or the
// fork-per-execution and QuickJS baselines.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { APP_ROOT, npmStartFlags } from '../../test/helpers/npm-start.js';
import { THIS_BUILD, type ChariotBuild } from './builds.js';
import type { FromServer, ServerEnv, ToServer } from './server-ipc.js';

export interface MemorySample {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Resident and heap memory of the server process, read after a garbage collection. */
  memory(): Promise<MemorySample>;
  /** Closes the server and waits for its process to exit. Idempotent. */
  close(): Promise<void>;
}

const FORK_SERVER = fileURLToPath(new URL('../baselines/fork-server.js', import.meta.url));
const QUICKJS_SERVER = fileURLToPath(new URL('../baselines/quickjs-server.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 15_000;

function nextMessage<K extends FromServer['kind']>(child: ChildProcess, kind: K, timeoutMs: number): Promise<Extract<FromServer, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`server process ${child.pid} sent no '${kind}' within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: FromServer): void => {
      if (message.kind === kind) finish(undefined, message as Extract<FromServer, { kind: K }>);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      finish(new Error(`server process ${child.pid} exited (${signal ?? code}) before '${kind}'`));
    };
    function finish(error: Error | undefined, message?: Extract<FromServer, { kind: K }>): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message!);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function start(file: string, execArgv: string[], env: ServerEnv, cwd = APP_ROOT): Promise<ServerProcess> {
  // In the app folder, as npm runs `npm start`: its relative --allow-fs-read=. means that folder.
  const child = fork(file, [JSON.stringify(env)], { execArgv, cwd, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let ready: Extract<FromServer, { kind: 'ready' }>;
  try {
    ready = await nextMessage(child, 'ready', START_TIMEOUT_MS);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const send = (message: ToServer): void => {
    child.send(message);
  };
  let closing: Promise<void> | undefined;
  return {
    url: ready.url,
    pid: child.pid!,
    async memory() {
      const answer = nextMessage(child, 'memory', START_TIMEOUT_MS);
      send({ kind: 'memory' });
      const { rssBytes, heapUsedBytes } = await answer;
      return { rssBytes, heapUsedBytes };
    },
    close() {
      closing ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        send({ kind: 'close' });
        const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}

export interface ChariotOptions {
  /**
   * Under Node's permission model with the node flags of `npm start` (read from this
   * checkout's package.json), rather than with `--no-node-snapshot` alone. Default false.
   */
  readonly permission?: boolean;
  /** The build to run (builds.ts): another commit's with --against. Default: this checkout's. */
  readonly build?: ChariotBuild;
  /** More node flags (bench/profile.ts: --cpu-prof). */
  readonly flags?: readonly string[];
}

/** chariot-exec with these configuration variables (PORT is always 0: an ephemeral port). */
export function startChariot(env: ServerEnv, options: ChariotOptions = {}): Promise<ServerProcess> {
  const flags = options.permission === true ? npmStartFlags() : ['--no-node-snapshot'];
  const build = options.build ?? THIS_BUILD;
  return start(build.entry, [...flags, '--expose-gc', ...(options.flags ?? [])], { ...env, PORT: '0' }, build.root);
}

/** The fork-per-execution baseline server (bench/baselines/fork-server.ts). */
export function startForkServer(env: ServerEnv): Promise<ServerProcess> {
  // No --no-node-snapshot: this server loads no isolated-vm, and its children start faster
  // with Node's start-up snapshot. Giving it the flag would slow the baseline for nothing.
  return start(FORK_SERVER, ['--expose-gc'], { ...env, PORT: '0' });
}

/** The QuickJS baseline server (bench/baselines/quickjs-server.ts). */
export function startQuickjsServer(env: ServerEnv): Promise<ServerProcess> {
  // No --no-node-snapshot either: it loads no isolated-vm (its sandbox is WebAssembly).
  return start(QUICKJS_SERVER, ['--expose-gc'], { ...env, PORT: '0' });
}

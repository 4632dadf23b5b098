// The service's configuration: one typed, frozen object, parsed from the environment once at
// start-up. A bad value, or a number outside its range (RANGES), throws a ConfigError naming
// the variable, so nothing starts half-configured. Tests build a Config with
// `loadConfig({ ...overrides })`.
import { availableParallelism, hostname, totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { canonicalOrigin } from './origin.js';

export interface UserSpec {
  readonly username: string;
  readonly password: string;
}

export interface Config {
  /** TCP port; 0 picks an ephemeral one. Default 8087. */
  readonly port: number;
  /** Interface to bind. Default 127.0.0.1. */
  readonly host: string;
  /** Users allowed to log in. Default: admin/admin, development only. */
  readonly users: readonly UserSpec[];
  /** True when `users` is the embedded development default. */
  readonly usingDefaultUsers: boolean;
  /** Cookie signing keys. Default: one random key per start. */
  readonly sessionKeys: readonly string[];
  /** Worker threads in the pool. Default: number of CPUs (at most 256). */
  readonly threads: number;
  /** Executions running at once in one worker thread (awaiting ones hold no thread). Default 64. */
  readonly tasksPerThread: number;
  /** Spare isolates each worker thread keeps warm for the next executions. Default 2. */
  readonly spareIsolates: number;
  /**
   * An isolate kept for its user is disposed after this long without an execution, and the main
   * thread collects its heap once none has run for as long (docs/API.md "Memory after load"). Default 15 s.
   */
  readonly isolateIdleMs: number;
  /** Executions waiting for a slot before the server answers 503. Default 1000. */
  readonly maxQueue: number;
  /**
   * How long an execution may wait for a slot: one whose predicted wait is longer is refused
   * (503, Retry-After), and one that has waited this long ends as an error. Default 5 s: under
   * overload a client is better told at once when to come back than left waiting, and 5 s of
   * waiting plus the run stays within the timeouts of common HTTP clients and load generators
   * (autocannon's 10 s), of which a sync /api/execute needs both.
   */
  readonly maxQueueWaitMs: number;
  /** Unfinished executions per user before the server answers 429. Default 64. */
  readonly maxPerUser: number;
  /**
   * Input messages (POST .../input) that may wait for an execution's input() undelivered; one
   * more is refused (413). Default 100.
   */
  readonly inputMaxQueued: number;
  /**
   * UTF-8 bytes of the input messages that may wait undelivered for one execution, and of any one
   * message; past it a message is refused (413). Default 1 MiB.
   */
  readonly inputMaxBytes: number;
  /**
   * Open log streams (GET /api/logs) per user before the server answers 429. Default 64: a
   * browser holds at most 6 connections to one host over HTTP/1.1, shared by all its tabs, and
   * the CLI one per followed execution, so a person never comes near it, while one account
   * cannot hold thousands of sockets.
   */
  readonly maxStreamsPerUser: number;
  /**
   * Quarantined isolates (each keeps its heap until restart) after which the server takes no
   * new executions and /healthz answers 503, so that it gets restarted. Default 8.
   */
  readonly quarantineLimit: number;
  /**
   * Quarantined isolates one user's executions may cause before that user is refused (429) for
   * quarantineCooldownMs. Default 2.
   */
  readonly quarantinePerUser: number;
  /** How long a user past quarantinePerUser is refused, in ms. Default 600000 (10 min). */
  readonly quarantineCooldownMs: number;
  /**
   * How long a server that reached quarantineLimit waits for its running executions before it
   * cancels them and restarts (exits for its supervisor to start it again), in ms. Default 30000.
   */
  readonly drainMs: number;
  /**
   * A worker thread that has not answered the pool's heartbeat for this long, in ms, has stopped
   * responding: it is replaced, and its executions end or move. Default 10000.
   */
  readonly threadStallMs: number;
  /**
   * The nice value of the worker threads (0 to 19; 0: as the main thread). Default 10: the main
   * thread goes first, so that a saturated pool still has its requests read, /healthz answered
   * and refusals sent at once (docs/API.md "A bounded wait").
   */
  readonly workerNice: number;
  /** CPU time one execution may use, in ms. Default 10000. */
  readonly cpuMs: number;
  /** Wall-clock time one execution may take, in ms. Default 60000. */
  readonly wallMs: number;
  /** Heap limit of one isolate, in MiB. Default 128. */
  readonly memoryMb: number;
  /**
   * Heap of all the isolates together, in MiB, split evenly between the worker threads.
   * Default: half the machine's memory, and at least memoryMb per thread.
   */
  readonly sandboxMemoryMb: number;
  /** Largest serialised result, in bytes. Default 1 MiB. */
  readonly resultLimitBytes: number;
  /** Ring-buffer entries kept per execution. Default 1000. */
  readonly logBuffer: number;
  /** Longest log message, in characters, before it is cut. Default 65536. */
  readonly logMessageLimit: number;
  /** Log entries kept per execution before further ones are only counted. Default 100000. */
  readonly logEntryCap: number;
  /** Log bytes kept per execution before further entries are only counted. Default 32 MiB. */
  readonly logByteCap: number;
  /**
   * Bytes (as LogBuffer's entryBytes() counts them) that the logs of all executions together
   * may keep in the main thread; past it the oldest entries of finished executions go first.
   * Default: a quarter of the main thread's heap limit, at most 1 GiB.
   */
  readonly logBudget: number;
  /** The same for the executions of one user. Default: a quarter of logBudget. */
  readonly logBudgetPerUser: number;
  /** How long a finished execution stays readable, in ms. Default 300000. */
  readonly retentionMs: number;
  /** Largest request body, in bytes. Default 1 MiB. */
  readonly bodyLimitBytes: number;
  /**
   * How far, in bytes (as LogBuffer's entryBytes() counts them), a live reader of a log may fall
   * behind its ring before the entries it still needs are no longer kept for it and it is told
   * of them as a gap. Default 64 MiB.
   */
  readonly sseLagBudget: number;
  /** Interval of `: ping` comments on SSE streams, in ms. Default 15000. */
  readonly ssePingMs: number;
  /** Reconnection delay announced to EventSource clients (`retry:`), in ms. Default 2000. */
  readonly sseRetryMs: number;
  /**
   * A stream whose socket takes no data for this long while the server waits to write is ended
   * by the server, in ms. Default 60000.
   */
  readonly sseStallTimeoutMs: number;
  /** The largest message a WebSocket client may send, in bytes; a larger one closes it (1009). Default 1 MiB. */
  readonly wsMaxMessageBytes: number;
  /**
   * Bytes of answers (`started`, `error`) a WebSocket client may leave unread past the socket's
   * high-water mark before the socket is closed (1008). Log messages never count: they wait in
   * their cursors. Default 1 MiB.
   */
  readonly wsMaxUnreadBytes: number;
  /** Mark the session cookie Secure (deployments behind a TLS proxy). Default false. */
  readonly secureCookies: boolean;
  /**
   * Array methods that would walk a huge array-like with holes fail fast (worker/walk-guards.ts),
   * at a price on every execution and every call of them. Default false.
   */
  readonly walkGuards: boolean;
  /**
   * Proxies in front of the server whose X-Forwarded-For/-Proto/-Host are believed: the client
   * address is the one the outermost of them saw. Default 0 (headers ignored).
   */
  readonly trustProxy: number;
  /** Origins besides the server's own allowed to make state-changing requests. Default none. */
  readonly allowedOrigins: readonly string[];
  /** Failed logins per user name within `loginWindowMs` before 429. Default 5. */
  readonly loginFailuresPerName: number;
  /** Failed logins per client address within `loginWindowMs` before 429. Default 20. */
  readonly loginFailuresPerAddress: number;
  /** The sliding window of the login throttle, in ms. Default 60000. */
  readonly loginWindowMs: number;
  /** Password hashes computed at once (each holds a libuv thread). Default 1. */
  readonly loginConcurrency: number;
  /** Logins waiting for a hash slot before 503. Default 16. */
  readonly loginQueue: number;
  /** Redis URL; unset means everything lives in memory. */
  readonly redisUrl: string | undefined;
  /** This instance's name in Redis mode (CHARIOT_INSTANCE_ID; host name + pid by default). */
  readonly instanceId: string;
  /** How long an instance may miss its heartbeat before its executions are declared lost, in ms. */
  readonly instanceTimeoutMs: number;
  /** True under NODE_ENV=production. */
  readonly production: boolean;
  /**
   * Test seam only (CHARIOT_TEST_PROBE=1, refused under NODE_ENV=production): the name of the
   * channel on which every thread answers permission probes (src/test-probe.ts). Default unset.
   */
  readonly testProbeChannel: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const MIB = 1024 * 1024;

export const DEFAULTS = Object.freeze({
  port: 8087,
  host: '127.0.0.1',
  tasksPerThread: 64,
  spareIsolates: 2,
  isolateIdleMs: 15_000,
  instanceTimeoutMs: 10_000,
  maxQueue: 1000,
  maxQueueWaitMs: 5000,
  maxPerUser: 64,
  inputMaxQueued: 100,
  inputMaxBytes: MIB,
  maxStreamsPerUser: 64,
  quarantineLimit: 8,
  quarantinePerUser: 2,
  quarantineCooldownMs: 600_000,
  drainMs: 30_000,
  threadStallMs: 10_000,
  workerNice: 10,
  cpuMs: 10_000,
  wallMs: 60_000,
  memoryMb: 128,
  resultLimitBytes: MIB,
  logBuffer: 1000,
  logMessageLimit: 64 * 1024,
  logEntryCap: 100_000,
  logByteCap: 32 * MIB,
  retentionMs: 300_000,
  bodyLimitBytes: MIB,
  sseLagBudget: 64 * MIB,
  ssePingMs: 15_000,
  sseRetryMs: 2000,
  sseStallTimeoutMs: 60_000,
  wsMaxMessageBytes: MIB,
  wsMaxUnreadBytes: MIB,
  loginFailuresPerName: 5,
  loginFailuresPerAddress: 20,
  loginWindowMs: 60_000,
  loginConcurrency: 1,
  loginQueue: 16,
});

export const DEFAULT_USERS: readonly UserSpec[] = Object.freeze([{ username: 'admin', password: 'admin' }]);

type Env = Readonly<Record<string, string | undefined>>;

const DAY_MS = 86_400_000;

/**
 * The range of every number, inclusive; start-up refuses a value outside it, naming the
 * variable (README "Configuration" has the same table). Every duration stays far below
 * 2^31 - 1 ms, past which Node fires a timer at once: the watchdog adds up to 10 s to the
 * wall-clock limit. Sizes stay below what one V8 string can hold (2^29 - 24 characters).
 */
export const RANGES = Object.freeze({
  PORT: [0, 65_535],
  CHARIOT_THREADS: [1, 256],
  CHARIOT_TASKS_PER_THREAD: [1, 10_000],
  CHARIOT_SPARE_ISOLATES: [0, 64],
  CHARIOT_ISOLATE_IDLE_MS: [1000, DAY_MS],
  CHARIOT_INSTANCE_TIMEOUT_MS: [1000, 3_600_000],
  CHARIOT_MAX_QUEUE: [0, 1_000_000],
  CHARIOT_MAX_QUEUE_WAIT_MS: [100, DAY_MS],
  CHARIOT_MAX_PER_USER: [1, 100_000],
  CHARIOT_INPUT_MAX_QUEUED: [1, 100_000],
  CHARIOT_INPUT_MAX_BYTES: [1, 256 * MIB],
  CHARIOT_MAX_STREAMS_PER_USER: [1, 100_000],
  CHARIOT_QUARANTINE_LIMIT: [1, 1000],
  CHARIOT_QUARANTINE_PER_USER: [1, 1000],
  CHARIOT_QUARANTINE_COOLDOWN_MS: [0, DAY_MS],
  CHARIOT_DRAIN_MS: [0, 3_600_000],
  CHARIOT_THREAD_STALL_MS: [1000, DAY_MS],
  CHARIOT_WORKER_NICE: [0, 19],
  CHARIOT_CPU_MS: [1, DAY_MS],
  CHARIOT_WALL_MS: [1, DAY_MS],
  CHARIOT_MEMORY_MB: [8, 64 * 1024],
  CHARIOT_SANDBOX_MEMORY_MB: [16, 1024 * 1024],
  CHARIOT_RESULT_LIMIT: [1, 256 * MIB],
  CHARIOT_LOG_BUFFER: [1, 100_000],
  CHARIOT_LOG_MESSAGE_LIMIT: [16, 16 * MIB],
  CHARIOT_LOG_ENTRY_CAP: [1, 100_000_000],
  CHARIOT_LOG_BYTE_CAP: [1, 1024 * MIB],
  CHARIOT_LOG_BUDGET: [64 * 1024, 1024 * 1024 * MIB],
  CHARIOT_LOG_BUDGET_PER_USER: [64 * 1024, 1024 * 1024 * MIB],
  CHARIOT_RETENTION_MS: [0, 7 * DAY_MS],
  CHARIOT_BODY_LIMIT: [1, 256 * MIB],
  CHARIOT_SSE_LAG_BUDGET: [1, 1024 * MIB],
  CHARIOT_SSE_PING_MS: [10, 3_600_000],
  CHARIOT_SSE_RETRY_MS: [0, 3_600_000],
  // At least a second: a socket can take nothing for that long when a lost packet is resent.
  CHARIOT_SSE_STALL_TIMEOUT_MS: [1000, 3_600_000],
  CHARIOT_WS_MAX_MESSAGE: [1, 256 * MIB],
  CHARIOT_WS_MAX_UNREAD: [1024, 1024 * MIB],
  CHARIOT_LOGIN_FAILURES_PER_NAME: [1, 100],
  CHARIOT_LOGIN_FAILURES_PER_ADDRESS: [1, 100],
  CHARIOT_LOGIN_WINDOW_MS: [1000, DAY_MS],
  CHARIOT_LOGIN_CONCURRENCY: [1, 1024],
  CHARIOT_LOGIN_QUEUE: [0, 10_000],
} satisfies Record<string, readonly [number, number]>);

type Ranged = keyof typeof RANGES;

function integer(env: Env, name: Ranged, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw.trim());
  const [min, max] = RANGES[name];
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

const UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: MIB, gb: 1024 * MIB };

/** Parses "1mb", "512kb" or a plain byte count. */
function bytes(env: Env, name: Ranged, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const match = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(raw.trim());
  if (!match) throw new ConfigError(`${name} must be a size such as 1mb, 512kb or 1048576, got "${raw}"`);
  const value = Number(match[1]) * (UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1);
  const [min, max] = RANGES[name];
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max} bytes, got ${value}`);
  return value;
}

function users(env: Env): readonly UserSpec[] | undefined {
  const raw = env.CHARIOT_USERS;
  if (raw === undefined || raw.trim() === '') return undefined;
  const seen = new Set<string>();
  return raw.split(',').map((pair) => {
    const colon = pair.indexOf(':');
    const username = pair.slice(0, colon).trim();
    const password = pair.slice(colon + 1);
    if (colon < 1 || username === '' || password === '') {
      throw new ConfigError('CHARIOT_USERS must be name:password pairs separated by commas');
    }
    if (seen.has(username)) throw new ConfigError(`CHARIOT_USERS names "${username}" twice`);
    seen.add(username);
    return { username, password };
  });
}

function sessionKeys(env: Env): readonly string[] {
  const raw = env.CHARIOT_SESSION_KEYS;
  if (raw === undefined || raw.trim() === '') return [crypto.randomUUID() + crypto.randomUUID()];
  const keys = raw.split(',').map((key) => key.trim());
  if (keys.some((key) => key.length < 16)) throw new ConfigError('CHARIOT_SESSION_KEYS must hold keys of at least 16 characters');
  return keys;
}

function redisUrl(env: Env): string | undefined {
  const raw = env.CHARIOT_REDIS_URL;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^rediss?:\/\//.test(raw)) throw new ConfigError(`CHARIOT_REDIS_URL must start with redis:// or rediss://, got "${raw}"`);
  // Every instance must read the cookies every other one signs: a random key per start would
  // log a user out whenever the balancer sent them to another instance.
  const keys = env.CHARIOT_SESSION_KEYS;
  if (keys === undefined || keys.trim() === '') {
    throw new ConfigError('CHARIOT_REDIS_URL needs CHARIOT_SESSION_KEYS: every instance must sign session cookies with the same keys');
  }
  return raw;
}

/** Letters, digits and `._:-`, up to 64: it is part of Redis keys and channel names. */
function instanceId(env: Env): string {
  const raw = env.CHARIOT_INSTANCE_ID;
  if (raw === undefined || raw.trim() === '') return `${hostname()}-${process.pid}`;
  const id = raw.trim();
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(id)) {
    throw new ConfigError(`CHARIOT_INSTANCE_ID must be 1 to 64 letters, digits, dots, colons, underscores or dashes, got "${raw}"`);
  }
  return id;
}

/**
 * CHARIOT_SANDBOX_MEMORY_MB: each thread's share must hold one isolate at its heap limit, or an
 * execution would be ended by the total before its own limit.
 */
function sandboxMemory(env: Env, threads: number, memoryMb: number): number {
  const least = threads * memoryMb;
  const value = integer(env, 'CHARIOT_SANDBOX_MEMORY_MB', Math.max(least, Math.floor(totalmem() / 2 / MIB)));
  if (value < least) {
    throw new ConfigError(`CHARIOT_SANDBOX_MEMORY_MB must be at least CHARIOT_MEMORY_MB × CHARIOT_THREADS (${memoryMb} × ${threads} = ${least}), got ${value}`);
  }
  return value;
}

const MAX_DEFAULT_LOG_BUDGET = 1024 * MIB;

/** CHARIOT_LOG_BUDGET's default: a quarter of this thread's heap limit (about 4 GiB on 64-bit Node with enough memory), at most 1 GiB. */
function defaultLogBudget(): number {
  return Math.min(MAX_DEFAULT_LOG_BUDGET, Math.floor(getHeapStatistics().heap_size_limit / 4));
}

/** A yes/no variable: 1/true/yes/on or 0/false/no/off, any case; unset or empty is `fallback`. */
function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${name} must be true or false (or 1 or 0), got "${raw}"`);
}

const MAX_PROXY_HOPS = 10;

/** CHARIOT_TRUST_PROXY: false/0, true (one proxy), or how many proxies stand in front. */
function trustProxy(env: Env): number {
  const raw = env.CHARIOT_TRUST_PROXY;
  if (raw === undefined || raw.trim() === '') return 0;
  const value = raw.trim().toLowerCase();
  if (value === 'false') return 0;
  if (value === 'true') return 1;
  if (/^\d+$/.test(value) && Number(value) <= MAX_PROXY_HOPS) return Number(value);
  throw new ConfigError(`CHARIOT_TRUST_PROXY must be true, false or the number of proxies in front of the server (0 to ${MAX_PROXY_HOPS}), got "${raw}"`);
}

function allowedOrigins(env: Env): readonly string[] {
  const raw = env.CHARIOT_ALLOWED_ORIGINS;
  if (raw === undefined || raw.trim() === '') return [];
  const origins = raw.split(',').map((item) => {
    const origin = canonicalOrigin(item.trim());
    if (origin === undefined) {
      throw new ConfigError(`CHARIOT_ALLOWED_ORIGINS must be origins such as https://app.example.com:8443 separated by commas (scheme, host and port only), got "${item.trim()}"`);
    }
    return origin;
  });
  return [...new Set(origins)];
}

/** The libuv thread pool's size as libuv will read it from UV_THREADPOOL_SIZE (default 4). */
function threadPoolSize(env: Env): number {
  const value = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10);
  if (!Number.isFinite(value)) return 4;
  return Math.min(Math.max(value, 1), 1024);
}

/** CHARIOT_LOGIN_CONCURRENCY, kept below the thread pool's size so that hashes never hold all of it. */
function loginConcurrency(env: Env): number {
  const pool = threadPoolSize(env);
  const value = integer(env, 'CHARIOT_LOGIN_CONCURRENCY', DEFAULTS.loginConcurrency);
  if (value >= pool) {
    throw new ConfigError(`CHARIOT_LOGIN_CONCURRENCY must be below the libuv thread pool's size (UV_THREADPOOL_SIZE, ${pool}) so that password hashes never hold every thread, got ${value}`);
  }
  return value;
}

/** CHARIOT_TEST_PROBE=1 turns the permission probe on (tests only): a channel name unique to this start. */
function testProbeChannel(env: Env, production: boolean): string | undefined {
  const raw = env.CHARIOT_TEST_PROBE;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (raw.trim() !== '1') throw new ConfigError(`CHARIOT_TEST_PROBE must be 1 or unset, got "${raw}"`);
  if (production) throw new ConfigError('CHARIOT_TEST_PROBE is a test seam: NODE_ENV=production refuses it');
  return `chariot-test-probe-${crypto.randomUUID()}`;
}

/** Parses the environment (or the given variables) into a validated, frozen Config. */
export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const configuredUsers = users(env);
  if (production && configuredUsers === undefined) {
    throw new ConfigError('NODE_ENV=production refuses the development default user admin/admin: set CHARIOT_USERS');
  }
  const threads = integer(env, 'CHARIOT_THREADS', Math.min(availableParallelism(), RANGES.CHARIOT_THREADS[1]));
  const memoryMb = integer(env, 'CHARIOT_MEMORY_MB', DEFAULTS.memoryMb);
  const secureCookies = flag(env, 'CHARIOT_SECURE_COOKIES', false);
  const proxies = trustProxy(env);
  if (secureCookies && proxies === 0) {
    throw new ConfigError('CHARIOT_SECURE_COOKIES needs CHARIOT_TRUST_PROXY: this server speaks plain HTTP, so only a TLS proxy saying X-Forwarded-Proto: https makes a request secure');
  }
  const logBudget = bytes(env, 'CHARIOT_LOG_BUDGET', defaultLogBudget());
  const config: Config = {
    port: integer(env, 'PORT', DEFAULTS.port),
    host: env.HOST?.trim() || DEFAULTS.host,
    users: configuredUsers ?? DEFAULT_USERS,
    usingDefaultUsers: configuredUsers === undefined,
    sessionKeys: sessionKeys(env),
    threads,
    tasksPerThread: integer(env, 'CHARIOT_TASKS_PER_THREAD', DEFAULTS.tasksPerThread),
    spareIsolates: integer(env, 'CHARIOT_SPARE_ISOLATES', DEFAULTS.spareIsolates),
    isolateIdleMs: integer(env, 'CHARIOT_ISOLATE_IDLE_MS', DEFAULTS.isolateIdleMs),
    maxQueue: integer(env, 'CHARIOT_MAX_QUEUE', DEFAULTS.maxQueue),
    maxQueueWaitMs: integer(env, 'CHARIOT_MAX_QUEUE_WAIT_MS', DEFAULTS.maxQueueWaitMs),
    maxPerUser: integer(env, 'CHARIOT_MAX_PER_USER', DEFAULTS.maxPerUser),
    inputMaxQueued: integer(env, 'CHARIOT_INPUT_MAX_QUEUED', DEFAULTS.inputMaxQueued),
    inputMaxBytes: bytes(env, 'CHARIOT_INPUT_MAX_BYTES', DEFAULTS.inputMaxBytes),
    maxStreamsPerUser: integer(env, 'CHARIOT_MAX_STREAMS_PER_USER', DEFAULTS.maxStreamsPerUser),
    quarantineLimit: integer(env, 'CHARIOT_QUARANTINE_LIMIT', DEFAULTS.quarantineLimit),
    quarantinePerUser: integer(env, 'CHARIOT_QUARANTINE_PER_USER', DEFAULTS.quarantinePerUser),
    quarantineCooldownMs: integer(env, 'CHARIOT_QUARANTINE_COOLDOWN_MS', DEFAULTS.quarantineCooldownMs),
    drainMs: integer(env, 'CHARIOT_DRAIN_MS', DEFAULTS.drainMs),
    threadStallMs: integer(env, 'CHARIOT_THREAD_STALL_MS', DEFAULTS.threadStallMs),
    workerNice: integer(env, 'CHARIOT_WORKER_NICE', DEFAULTS.workerNice),
    cpuMs: integer(env, 'CHARIOT_CPU_MS', DEFAULTS.cpuMs),
    wallMs: integer(env, 'CHARIOT_WALL_MS', DEFAULTS.wallMs),
    memoryMb,
    sandboxMemoryMb: sandboxMemory(env, threads, memoryMb),
    resultLimitBytes: bytes(env, 'CHARIOT_RESULT_LIMIT', DEFAULTS.resultLimitBytes),
    logBuffer: integer(env, 'CHARIOT_LOG_BUFFER', DEFAULTS.logBuffer),
    logMessageLimit: integer(env, 'CHARIOT_LOG_MESSAGE_LIMIT', DEFAULTS.logMessageLimit),
    logEntryCap: integer(env, 'CHARIOT_LOG_ENTRY_CAP', DEFAULTS.logEntryCap),
    logByteCap: bytes(env, 'CHARIOT_LOG_BYTE_CAP', DEFAULTS.logByteCap),
    logBudget,
    logBudgetPerUser: bytes(env, 'CHARIOT_LOG_BUDGET_PER_USER', Math.max(RANGES.CHARIOT_LOG_BUDGET_PER_USER[0], Math.floor(logBudget / 4))),
    retentionMs: integer(env, 'CHARIOT_RETENTION_MS', DEFAULTS.retentionMs),
    bodyLimitBytes: bytes(env, 'CHARIOT_BODY_LIMIT', DEFAULTS.bodyLimitBytes),
    sseLagBudget: bytes(env, 'CHARIOT_SSE_LAG_BUDGET', DEFAULTS.sseLagBudget),
    ssePingMs: integer(env, 'CHARIOT_SSE_PING_MS', DEFAULTS.ssePingMs),
    sseRetryMs: integer(env, 'CHARIOT_SSE_RETRY_MS', DEFAULTS.sseRetryMs),
    sseStallTimeoutMs: integer(env, 'CHARIOT_SSE_STALL_TIMEOUT_MS', DEFAULTS.sseStallTimeoutMs),
    wsMaxMessageBytes: bytes(env, 'CHARIOT_WS_MAX_MESSAGE', DEFAULTS.wsMaxMessageBytes),
    wsMaxUnreadBytes: bytes(env, 'CHARIOT_WS_MAX_UNREAD', DEFAULTS.wsMaxUnreadBytes),
    secureCookies,
    walkGuards: flag(env, 'CHARIOT_WALK_GUARDS', false),
    trustProxy: proxies,
    allowedOrigins: allowedOrigins(env),
    loginFailuresPerName: integer(env, 'CHARIOT_LOGIN_FAILURES_PER_NAME', DEFAULTS.loginFailuresPerName),
    loginFailuresPerAddress: integer(env, 'CHARIOT_LOGIN_FAILURES_PER_ADDRESS', DEFAULTS.loginFailuresPerAddress),
    loginWindowMs: integer(env, 'CHARIOT_LOGIN_WINDOW_MS', DEFAULTS.loginWindowMs),
    loginConcurrency: loginConcurrency(env),
    loginQueue: integer(env, 'CHARIOT_LOGIN_QUEUE', DEFAULTS.loginQueue),
    redisUrl: redisUrl(env),
    instanceId: instanceId(env),
    instanceTimeoutMs: integer(env, 'CHARIOT_INSTANCE_TIMEOUT_MS', DEFAULTS.instanceTimeoutMs),
    production,
    testProbeChannel: testProbeChannel(env, production),
  };
  return Object.freeze(config);
}

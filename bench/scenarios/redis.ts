// Scenario 7: the Redis mode beside the in-memory one, in the same run. Three chariot-exec
// processes: M keeps everything in memory; A and B are two instances on one redis-server (R,
// started here on an ephemeral port, append-only file on, test/helpers/redis.ts).
//
//   throughput   POST /api/execute of `1+2`, closed loop, at each level: M, then A (every
//                execution is registered, journalled and ended in Redis), the order swapped
//                from level to level. Ratio: A / M.
//   delivery     one execution logging `entries` entries, one every `intervalMs`, with S
//                subscribers (1: log latency; the profile's count: fan-out), all connected
//                before its first entry: on M; on A, where it runs; and on B, through Redis
//                (A's journal, then B's one blocking reader, then B's copy's fan-out). Latency:
//                logPrint to parsed, as in scenarios 2 and 3. Ratio: through Redis / memory.
//   redis memory used_memory of R (INFO memory) before and after `executions` executions of
//                `entriesPerExecution` entries of a 60-character message each, and again with
//                executions that log nothing: bytes per retained entry, and per execution.
//   hand-off     how soon a slot that frees is filled from the queue: `executions` of
//                `sleep(sleepMs)` sent at once to one of two instances of one slot each on a
//                redis-server of their own (so that only they take from its shared queue), and
//                to a one-slot server in memory (its own scheduler); per slot, the gap between
//                one execution's end and the next one's start (started_at, completed_at, ms).
//                Ratio: shared queue / memory.
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisCommand, startRedis, type RedisProcess } from '../../test/helpers/redis.js';
import { WallClock } from '../lib/clock.js';
import { LatencyRecorder, ratio, type LatencySummary } from '../lib/histogram.js';
import { benchUsers, HttpTarget, loginUsers } from '../lib/http.js';
import { closedLoop, type LoadResult } from '../lib/load.js';
import { forEachLimited } from '../lib/parallel.js';
import { startChariot, type ServerProcess } from '../lib/processes.js';
import type { Profile } from '../lib/profile.js';
import { steadyLogger, TRIVIAL } from '../lib/programs.js';
import { subscribe, type Subscription } from '../lib/sse-subscriber.js';
import { compare, type Comparison } from './throughput.js';

export interface RedisThroughputLevel {
  readonly concurrency: number;
  readonly memory: LoadResult;
  readonly redis: LoadResult;
  /** redis / memory. */
  readonly ratio: Comparison;
}

export interface RedisDeliveryLevel {
  readonly subscribers: number;
  readonly entries: number;
  /** Subscribers that got every entry once, in order, then `done` "completed", per server. */
  readonly complete: { readonly memory: number; readonly holder: number; readonly otherInstance: number };
  readonly memory: LatencySummary;
  /** Subscribers on A, where the execution runs. */
  readonly holder: LatencySummary;
  /** Subscribers on B: through Redis. */
  readonly otherInstance: LatencySummary;
  readonly ratios: { readonly p50OtherVsMemory: number | null; readonly p99OtherVsMemory: number | null };
}

export interface RedisMemory {
  readonly executions: number;
  readonly entriesPerExecution: number;
  readonly messageChars: number;
  /** used_memory growth per execution that logged nothing (record, stream, history). */
  readonly bytesPerExecution: number;
  /** used_memory growth per retained log entry, beyond its execution's. */
  readonly bytesPerEntry: number;
}

export interface RedisHandOff {
  readonly executions: number;
  readonly sleepMs: number;
  /** Gaps, in ms, between an execution's end and the next start on the same one-slot server. */
  readonly memory: LatencySummary;
  /** The same on the two instances of the shared queue, together. */
  readonly sharedQueue: LatencySummary;
  /** How many each of the two instances ran (all were sent to the first). */
  readonly ranOn: { readonly sentTo: number; readonly other: number };
  readonly ratios: { readonly p50SharedVsMemory: number | null; readonly p99SharedVsMemory: number | null };
}

export interface RedisModeResult {
  readonly threads: number;
  readonly redisVersion: string;
  readonly serverEnv: Readonly<Record<string, string>>;
  readonly throughput: readonly RedisThroughputLevel[];
  readonly delivery: readonly RedisDeliveryLevel[];
  readonly redisMemory: RedisMemory;
  readonly handOff: RedisHandOff;
}

const USERS = 4;
const CONNECT_PARALLEL = 100;
const MESSAGE_CHARS = 60;
/** The journal trims a stream to the ring 2 s after its end (journal.ts KEEP_UP_MS); waited past. */
const TRIM_WAIT_MS = 2500;

function executeTrivial(http: HttpTarget, cookies: readonly string[]) {
  return async (worker: number): Promise<string | undefined> => {
    const answer = await http.post('/api/execute', { program: TRIVIAL }, cookies[worker % cookies.length]!);
    if (answer.status !== 200) return String(answer.status);
    return answer.text.includes('"result":3') ? undefined : 'bad-result';
  };
}

/** One execution submitted to `runOn`, `count` subscribers on `watchOn`; latency of every live delivery. */
async function deliver(runOn: HttpTarget, watchOn: string, cookie: string, count: number, entries: number, intervalMs: number): Promise<{ latency: LatencySummary; complete: number }> {
  const clock = WallClock.calibrate();
  const startAt = Date.now() + 1000 + Math.ceil(2.5 * count);
  const submitted = await runOn.post('/api/execute-async', { program: steadyLogger(startAt, entries, intervalMs) }, cookie);
  if (submitted.status !== 200) throw new Error(`execute-async answered ${submitted.status}: ${submitted.text}`);
  const id = (JSON.parse(submitted.text) as { execution_id: string }).execution_id;
  const latency = new LatencyRecorder();
  const nextSeq = new Array<number>(count).fill(1);
  const subscriptions: Subscription[] = await forEachLimited(count, CONNECT_PARALLEL, (i) =>
    subscribe(watchOn, `/api/logs/${id}`, cookie, clock, (entry) => {
      nextSeq[i] = entry.seq === nextSeq[i] ? entry.seq + 1 : Number.NaN;
      if (entry.live) latency.record(entry.parsedAt - entry.loggedAt);
    }));
  const statuses = await Promise.all(subscriptions.map((subscription) => subscription.ended));
  return { latency: latency.summary(), complete: statuses.filter((status, i) => status === 'completed' && nextSeq[i] === entries + 1).length };
}

async function usedMemory(redis: RedisProcess): Promise<number> {
  const info = await redisCommand(redis.port, 'INFO', 'memory');
  const match = /used_memory:(\d+)/.exec(info);
  if (match === null) throw new Error(`INFO memory has no used_memory: ${info.slice(0, 200)}`);
  return Number(match[1]);
}

/** used_memory growth over `executions` synchronous executions of `program`, run 8 at a time. */
async function growth(redis: RedisProcess, http: HttpTarget, cookies: readonly string[], executions: number, program: string): Promise<number> {
  const before = await usedMemory(redis);
  await forEachLimited(executions, 8, async (i) => {
    const answer = await http.post('/api/execute', { program }, cookies[i % cookies.length]!);
    if (answer.status !== 200) throw new Error(`execute answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  });
  await sleep(TRIM_WAIT_MS);
  return (await usedMemory(redis)) - before;
}

interface FinishedRun {
  readonly instance: string;
  readonly started: number;
  readonly completed: number;
}

/** Sends `count` executions of `sleep(sleepMs)` at once, then reads each one's final result. */
async function sleepers(url: string, count: number, sleepMs: number): Promise<FinishedRun[]> {
  const http = new HttpTarget(url, 8);
  try {
    const [cookie] = await loginUsers(http, [benchUsers(1).names[0]!]);
    const ids = await forEachLimited(count, 8, async () => {
      const answer = await http.post('/api/execute-async', { program: `await sleep(${sleepMs}); 1` }, cookie!);
      if (answer.status !== 200) throw new Error(`execute-async answered ${answer.status}: ${answer.text.slice(0, 200)}`);
      return (JSON.parse(answer.text) as { execution_id: string }).execution_id;
    });
    const runs: FinishedRun[] = [];
    for (const id of ids) {
      for (;;) {
        const answer = await http.get(`/api/result/${id}`, cookie);
        const body = JSON.parse(answer.text) as { status: string; instance?: string; started_at: string | null; completed_at: string | null };
        if (answer.status === 200) {
          runs.push({ instance: body.instance ?? 'memory', started: Date.parse(body.started_at!), completed: Date.parse(body.completed_at!) });
          break;
        }
        if (answer.status !== 202) throw new Error(`result answered ${answer.status}: ${answer.text.slice(0, 200)}`);
        await sleep(sleepMs);
      }
    }
    return runs;
  } finally {
    await http.close();
  }
}

/** The gaps between one run's end and the next one's start, per one-slot server. */
function handOffGaps(runs: readonly FinishedRun[]): LatencySummary {
  const recorder = new LatencyRecorder();
  const byInstance = new Map<string, FinishedRun[]>();
  for (const run of runs) byInstance.set(run.instance, [...(byInstance.get(run.instance) ?? []), run]);
  for (const own of byInstance.values()) {
    own.sort((x, y) => x.started - y.started);
    for (let i = 1; i < own.length; i++) recorder.record(Math.max(0, own[i]!.started - own[i - 1]!.completed));
  }
  return recorder.summary();
}

async function measureHandOff(settings: Profile['redis']['handOff'], log: (line: string) => void): Promise<RedisHandOff> {
  const { executions, sleepMs } = settings;
  const oneSlot = { CHARIOT_THREADS: '1', CHARIOT_TASKS_PER_THREAD: '1', CHARIOT_USERS: benchUsers(1).env, CHARIOT_MAX_PER_USER: String(executions) };
  const redis = await startRedis();
  const servers: ServerProcess[] = [];
  try {
    const shared = { ...oneSlot, CHARIOT_REDIS_URL: redis.url, CHARIOT_SESSION_KEYS: 'bench-hand-off-key-0123456789abcdef' };
    servers.push(...(await Promise.all([
      startChariot(oneSlot),
      startChariot({ ...shared, CHARIOT_INSTANCE_ID: 'bench-slot-a' }),
      startChariot({ ...shared, CHARIOT_INSTANCE_ID: 'bench-slot-b' }),
    ])));
    const [m, a] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const inMemory = await sleepers(m.url, executions, sleepMs);
    const throughQueue = await sleepers(a.url, executions, sleepMs);
    const memory = handOffGaps(inMemory);
    const sharedQueue = handOffGaps(throughQueue);
    const sentTo = throughQueue.filter((run) => run.instance === 'bench-slot-a').length;
    log(`  hand-off of a free slot, gap p50/p99 ms: memory ${memory.p50Ms.toFixed(2)}/${memory.p99Ms.toFixed(2)}, shared queue ${sharedQueue.p50Ms.toFixed(2)}/${sharedQueue.p99Ms.toFixed(2)} (${sentTo} ran where sent, ${executions - sentTo} on the other)`);
    return {
      executions,
      sleepMs,
      memory,
      sharedQueue,
      ranOn: { sentTo, other: executions - sentTo },
      ratios: { p50SharedVsMemory: ratio(sharedQueue.p50Ms, memory.p50Ms), p99SharedVsMemory: ratio(sharedQueue.p99Ms, memory.p99Ms) },
    };
  } finally {
    await Promise.all(servers.map((server) => server.close()));
    await redis.close();
  }
}

export async function runRedisMode(profile: Profile, log: (line: string) => void): Promise<RedisModeResult> {
  const settings = profile.redis;
  const threads = availableParallelism();
  const users = benchUsers(USERS);
  const most = Math.max(...settings.subscribers);
  const serverEnv = { CHARIOT_THREADS: String(threads), CHARIOT_USERS: users.env, CHARIOT_MAX_STREAMS_PER_USER: String(most) };
  const redis = await startRedis();
  const redisEnv = { ...serverEnv, CHARIOT_REDIS_URL: redis.url, CHARIOT_SESSION_KEYS: 'bench-redis-mode-key-0123456789abcdef' };
  const servers: ServerProcess[] = [];
  const clients: HttpTarget[] = [];
  try {
    const connections = Math.max(4, ...settings.levels);
    const started = await Promise.all([
      startChariot(serverEnv),
      startChariot({ ...redisEnv, CHARIOT_INSTANCE_ID: 'bench-a' }),
      startChariot({ ...redisEnv, CHARIOT_INSTANCE_ID: 'bench-b' }),
    ]);
    servers.push(...started);
    const [m, a, b] = started as [ServerProcess, ServerProcess, ServerProcess];
    const httpM = new HttpTarget(m.url, connections);
    const httpA = new HttpTarget(a.url, connections);
    clients.push(httpM, httpA);
    const cookiesM = await loginUsers(httpM, users.names);
    const cookiesA = await loginUsers(httpA, users.names);
    const redisVersion = /redis_version:(\S+)/.exec(await redisCommand(redis.port, 'INFO', 'server'))?.[1] ?? 'unknown';

    const throughput: RedisThroughputLevel[] = [];
    for (const [index, concurrency] of settings.levels.entries()) {
      const options = { concurrency, warmupMs: settings.warmupMs, durationMs: settings.durationMs };
      const runs: Partial<Record<'memory' | 'redis', LoadResult>> = {};
      for (const target of index % 2 === 0 ? (['memory', 'redis'] as const) : (['redis', 'memory'] as const)) {
        runs[target] = await closedLoop(target === 'memory' ? executeTrivial(httpM, cookiesM) : executeTrivial(httpA, cookiesA), options);
      }
      const level = { concurrency, memory: runs.memory!, redis: runs.redis!, ratio: compare(runs.redis!, runs.memory!) };
      throughput.push(level);
      log(`  c=${String(concurrency).padStart(3)}  memory ${level.memory.rps.toFixed(0)} req/s p50 ${level.memory.latency.p50Ms.toFixed(2)} ms  redis ${level.redis.rps.toFixed(0)} req/s p50 ${level.redis.latency.p50Ms.toFixed(2)} ms  (${level.ratio.rps?.toFixed(2) ?? '-'}×)`);
    }

    const delivery: RedisDeliveryLevel[] = [];
    for (const subscribers of settings.subscribers) {
      const { entries, intervalMs } = settings;
      const onM = await deliver(httpM, m.url, cookiesM[0]!, subscribers, entries, intervalMs);
      const onA = await deliver(httpA, a.url, cookiesA[0]!, subscribers, entries, intervalMs);
      const onB = await deliver(httpA, b.url, cookiesA[0]!, subscribers, entries, intervalMs);
      const level: RedisDeliveryLevel = {
        subscribers,
        entries,
        complete: { memory: onM.complete, holder: onA.complete, otherInstance: onB.complete },
        memory: onM.latency,
        holder: onA.latency,
        otherInstance: onB.latency,
        ratios: { p50OtherVsMemory: ratio(onB.latency.p50Ms, onM.latency.p50Ms), p99OtherVsMemory: ratio(onB.latency.p99Ms, onM.latency.p99Ms) },
      };
      delivery.push(level);
      log(`  ${String(subscribers).padStart(5)} subscribers  p50/p99 ms: memory ${onM.latency.p50Ms.toFixed(2)}/${onM.latency.p99Ms.toFixed(2)}  holder ${onA.latency.p50Ms.toFixed(2)}/${onA.latency.p99Ms.toFixed(2)}  other instance ${onB.latency.p50Ms.toFixed(2)}/${onB.latency.p99Ms.toFixed(2)}  complete ${onM.complete}/${onA.complete}/${onB.complete} of ${subscribers}`);
    }

    const { executions, entriesPerExecution } = settings.memory;
    const message = 'x'.repeat(MESSAGE_CHARS);
    const bare = await growth(redis, httpA, cookiesA, executions, '0');
    const logged = await growth(redis, httpA, cookiesA, executions, `for (let i = 0; i < ${entriesPerExecution}; i++) logPrint(${JSON.stringify(message)}); 0`);
    const redisMemory: RedisMemory = {
      executions,
      entriesPerExecution,
      messageChars: MESSAGE_CHARS,
      bytesPerExecution: Math.round(bare / executions),
      bytesPerEntry: Math.round((logged - bare) / (executions * entriesPerExecution)),
    };
    log(`  Redis memory: ${redisMemory.bytesPerExecution} B per execution, ${redisMemory.bytesPerEntry} B per retained entry of ${MESSAGE_CHARS} characters`);
    const handOff = await measureHandOff(settings.handOff, log);
    return { threads, redisVersion, serverEnv, throughput, delivery, redisMemory, handOff };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(servers.map((server) => server.close()));
    await redis.close();
  }
}

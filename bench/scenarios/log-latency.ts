// Scenario 2: log latency. K executions (K = 1, 100, 1,000), each with one subscriber,
// each logging one entry every `intervalMs`, staggered so that the K streams together log
// at a steady rate. Latency: from the entry's timestamp (Date.now() inside the isolate at
// logPrint) to the moment this process had parsed the entry's bytes, on the same clock.
// Each level runs twice on the same server: K SSE streams (a connection each) and K
// WebSocket subscriptions (a socket each), the one measured first swapping from level to level.
//
// Resolution: the isolate's Date.now() has whole milliseconds, so each figure is the true
// latency plus 0..1 ms (0.5 ms on average); the client side reads a calibrated
// sub-millisecond clock (lib/clock.ts). Only entries logged after the subscriber's
// response headers arrived count (earlier ones would be replays, not live delivery).
//
// Baselines: the raw log path with the same K: isolate callback → worker thread →
// postMessage → this process's main thread, no HTTP and no SSE (raw-worker.ts); and, for the
// WebSocket, SSE at the same K.
//
// Server: threads = cores, 16 users (so no user passes the default 64 unfinished), and
// CHARIOT_TASKS_PER_THREAD raised so that K sleeping executions all hold a slot at once
// (the default, 64 per thread, would queue most of the 1,000), and CHARIOT_MAX_STREAMS_PER_USER
// raised to the largest K, so that no stream is refused however they fall to the users.
import { availableParallelism } from 'node:os';
import { RawIsolatePool } from '../baselines/raw-isolate.js';
import { WallClock } from '../lib/clock.js';
import { LatencyRecorder, ratio, type LatencySummary } from '../lib/histogram.js';
import { benchUsers, HttpTarget, loginUsers } from '../lib/http.js';
import { forEachLimited } from '../lib/parallel.js';
import { startChariot, type ServerProcess } from '../lib/processes.js';
import type { Profile } from '../lib/profile.js';
import { steadyLogger } from '../lib/programs.js';
import { SUBSCRIBERS, type EntryArrival, type Subscribe, type Transport } from '../lib/log-subscribers.js';

/** One transport's figures at one level. */
export interface LogDelivery {
  /** Live entries timed (logged after their subscriber had connected). */
  readonly entriesMeasured: number;
  /** Entries logged before their subscriber connected: delivered, but not timed. */
  readonly entriesBeforeSubscribe: number;
  /** Streams that did not end with `done` "completed" or missed an entry. */
  readonly incompleteStreams: number;
  /** Mean bytes on the wire per entry: the SSE event, or the WebSocket frame. */
  readonly bytesPerEntry: number;
}

/** The SSE figures keep the fields (and `chariot`) of schema 5; the WebSocket's are in `ws`. */
export interface LogLatencyLevel extends LogDelivery {
  readonly streams: number;
  readonly entriesExpected: number;
  /** SSE: logPrint → parsed at the subscriber. */
  readonly chariot: LatencySummary;
  readonly ws: LogDelivery & { readonly latency: LatencySummary };
  /** Which transport this level measured first. */
  readonly firstTransport: Transport;
  readonly rawIsolate: LatencySummary;
  readonly ratios: {
    readonly p50VsRawIsolate: number | null;
    readonly p99VsRawIsolate: number | null;
    readonly wsP50VsRawIsolate: number | null;
    readonly wsP99VsRawIsolate: number | null;
    /** WebSocket / SSE: above 1, the WebSocket is slower. */
    readonly wsP50VsSse: number | null;
    readonly wsP99VsSse: number | null;
  };
}

export interface LogLatencyResult {
  readonly entriesPerStream: number;
  readonly intervalMs: number;
  /** Resolution of the entries' timestamps: each latency is over-stated by 0..this. */
  readonly timestampResolutionMs: number;
  readonly serverEnv: Readonly<Record<string, string>>;
  readonly levels: readonly LogLatencyLevel[];
}

const USERS = 16;
const OPEN_PARALLEL = 50;
/** Time allowed after the last entry is due for every stream to end. */
const END_GRACE_MS = 30_000;

async function measureChariot(server: ServerProcess, http: HttpTarget, subscribe: Subscribe, cookies: readonly string[], streams: number, entries: number, intervalMs: number) {
  const recorder = new LatencyRecorder();
  const clock = WallClock.calibrate();
  // Long enough to submit and subscribe every stream on a busy machine; entries logged
  // before a subscriber connected are left out anyway, so a short budget only costs samples.
  const startAt = Date.now() + 500 + 4 * streams;
  const stagger = intervalMs / streams;
  let beforeSubscribe = 0;
  let incomplete = 0;
  let bytes = 0;
  let arrived = 0;
  const ends = await forEachLimited(streams, OPEN_PARALLEL, async (i) => {
    const cookie = cookies[i % cookies.length]!;
    const submitted = await http.post('/api/execute-async', { program: steadyLogger(Math.round(startAt + i * stagger), entries, intervalMs) }, cookie);
    if (submitted.status !== 200) throw new Error(`execute-async answered ${submitted.status}: ${submitted.text}`);
    const id = (JSON.parse(submitted.text) as { execution_id: string }).execution_id;
    const arrivals: EntryArrival[] = [];
    const subscription = await subscribe(server.url, id, cookie, clock, (entry) => arrivals.push(entry));
    return { subscription, arrivals };
  });
  const deadline = setTimeout(() => ends.forEach(({ subscription }) => subscription.close()), startAt - Date.now() + entries * intervalMs + END_GRACE_MS);
  for (const { subscription, arrivals } of ends) {
    const status = await subscription.ended;
    if (status !== 'completed' || arrivals.length !== entries) incomplete++;
    arrived += arrivals.length;
    for (const arrival of arrivals) {
      bytes += arrival.bytes;
      if (arrival.live) recorder.record(arrival.parsedAt - arrival.loggedAt);
      else beforeSubscribe++;
    }
  }
  clearTimeout(deadline);
  const delivery: LogDelivery = { entriesMeasured: recorder.count, entriesBeforeSubscribe: beforeSubscribe, incompleteStreams: incomplete, bytesPerEntry: arrived === 0 ? 0 : Math.round(bytes / arrived) };
  return { delivery, latency: recorder.summary() };
}

async function measureRaw(pool: RawIsolatePool, streams: number, entries: number, intervalMs: number): Promise<LatencySummary> {
  const recorder = new LatencyRecorder();
  const clock = WallClock.calibrate();
  const startAt = Date.now() + 300 + streams;
  const stagger = intervalMs / streams;
  const perThread = Math.ceil(streams / pool.threads);
  const tasks = [];
  for (let first = 0; first < streams; first += perThread) {
    const count = Math.min(perThread, streams - first);
    tasks.push({ kind: 'logStreams', streams: count, entries, intervalMs, startAt: startAt + first * stagger, staggerMs: stagger } as const);
  }
  await pool.logStreams(tasks, (isolateMs) => recorder.record(clock.now() - isolateMs));
  return recorder.summary();
}

export async function runLogLatency(profile: Profile, log: (line: string) => void): Promise<LogLatencyResult> {
  const { streams: levels, entries, intervalMs } = profile.logLatency;
  const threads = availableParallelism();
  const users = benchUsers(USERS);
  const tasksPerThread = Math.max(64, Math.ceil(Math.max(...levels) / threads) + 16);
  // Streams per user: room for the largest level, whatever the default cap.
  const streamsPerUser = String(Math.max(...levels));
  const serverEnv = { CHARIOT_THREADS: String(threads), CHARIOT_USERS: users.env, CHARIOT_TASKS_PER_THREAD: String(tasksPerThread), CHARIOT_MAX_STREAMS_PER_USER: streamsPerUser };
  const server = await startChariot(serverEnv);
  const http = new HttpTarget(server.url, OPEN_PARALLEL);
  const raw = new RawIsolatePool(threads, tasksPerThread);
  try {
    const cookies = await loginUsers(http, users.names);
    const results: LogLatencyLevel[] = [];
    for (const [index, streams] of levels.entries()) {
      // Both transports on the same server, the first swapping from level to level so that
      // neither always meets the machine's drift first.
      const order: Transport[] = index % 2 === 0 ? ['sse', 'ws'] : ['ws', 'sse'];
      const measured = {} as Record<Transport, Awaited<ReturnType<typeof measureChariot>>>;
      for (const transport of order) measured[transport] = await measureChariot(server, http, SUBSCRIBERS[transport], cookies, streams, entries, intervalMs);
      const { sse, ws } = measured;
      const base = await measureRaw(raw, streams, entries, intervalMs);
      const figures = (name: string, m: typeof sse): string => `${name} p50 ${m.latency.p50Ms.toFixed(2)} ms p99 ${m.latency.p99Ms.toFixed(2)} ms (${m.delivery.entriesMeasured} entries, ${m.delivery.incompleteStreams} incomplete)`;
      log(`  ${String(streams).padStart(5)} streams  ${figures('sse', sse)}  ${figures('ws', ws)}  raw p50 ${base.p50Ms.toFixed(2)} ms p99 ${base.p99Ms.toFixed(2)} ms`);
      results.push({
        streams,
        entriesExpected: streams * entries,
        ...sse.delivery,
        chariot: sse.latency,
        ws: { ...ws.delivery, latency: ws.latency },
        firstTransport: order[0]!,
        rawIsolate: base,
        ratios: {
          p50VsRawIsolate: ratio(sse.latency.p50Ms, base.p50Ms),
          p99VsRawIsolate: ratio(sse.latency.p99Ms, base.p99Ms),
          wsP50VsRawIsolate: ratio(ws.latency.p50Ms, base.p50Ms),
          wsP99VsRawIsolate: ratio(ws.latency.p99Ms, base.p99Ms),
          wsP50VsSse: ratio(ws.latency.p50Ms, sse.latency.p50Ms),
          wsP99VsSse: ratio(ws.latency.p99Ms, sse.latency.p99Ms),
        },
      });
    }
    return {
      entriesPerStream: entries,
      intervalMs,
      timestampResolutionMs: 1,
      serverEnv: { ...serverEnv, CHARIOT_USERS: `${USERS} users` },
      levels: results,
    };
  } finally {
    await http.close();
    await Promise.allSettled([server.close(), raw.close()]);
  }
}

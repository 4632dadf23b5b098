// Scenario 2: log latency. K executions (K = 1, 100, 1,000), each with one SSE subscriber,
// each logging one entry every `intervalMs`, staggered so that the K streams together log
// at a steady rate. Latency: from the entry's timestamp (Date.now() inside the isolate at
// logPrint) to the moment this process had parsed the entry's bytes, on the same clock.
//
// Resolution: the isolate's Date.now() has whole milliseconds, so each figure is the true
// latency plus 0..1 ms (0.5 ms on average); the client side reads a calibrated
// sub-millisecond clock (lib/clock.ts). Only entries logged after the subscriber's
// response headers arrived count (earlier ones would be replays, not live delivery).
//
// Baseline: the raw log path with the same K: isolate callback → worker thread →
// postMessage → this process's main thread, no HTTP and no SSE (raw-worker.ts).
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
import { subscribe, type EntryArrival } from '../lib/sse-subscriber.js';

export interface LogLatencyLevel {
  readonly streams: number;
  readonly entriesExpected: number;
  /** Live entries timed (logged after their subscriber had connected). */
  readonly entriesMeasured: number;
  /** Entries logged before their subscriber connected: delivered, but not timed. */
  readonly entriesBeforeSubscribe: number;
  /** Streams that did not end with `done` "completed" or missed an entry. */
  readonly incompleteStreams: number;
  readonly chariot: LatencySummary;
  readonly rawIsolate: LatencySummary;
  readonly ratios: { readonly p50VsRawIsolate: number | null; readonly p99VsRawIsolate: number | null };
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

async function measureChariot(server: ServerProcess, http: HttpTarget, cookies: readonly string[], streams: number, entries: number, intervalMs: number) {
  const recorder = new LatencyRecorder();
  const clock = WallClock.calibrate();
  // Long enough to submit and subscribe every stream on a busy machine; entries logged
  // before a subscriber connected are left out anyway, so a short budget only costs samples.
  const startAt = Date.now() + 500 + 4 * streams;
  const stagger = intervalMs / streams;
  let beforeSubscribe = 0;
  let incomplete = 0;
  const ends = await forEachLimited(streams, OPEN_PARALLEL, async (i) => {
    const cookie = cookies[i % cookies.length]!;
    const submitted = await http.post('/api/execute-async', { program: steadyLogger(Math.round(startAt + i * stagger), entries, intervalMs) }, cookie);
    if (submitted.status !== 200) throw new Error(`execute-async answered ${submitted.status}: ${submitted.text}`);
    const id = (JSON.parse(submitted.text) as { execution_id: string }).execution_id;
    const arrivals: EntryArrival[] = [];
    const subscription = await subscribe(server.url, `/api/logs/${id}`, cookie, clock, (entry) => arrivals.push(entry));
    return { subscription, arrivals };
  });
  const deadline = setTimeout(() => ends.forEach(({ subscription }) => subscription.close()), startAt - Date.now() + entries * intervalMs + END_GRACE_MS);
  for (const { subscription, arrivals } of ends) {
    const status = await subscription.ended;
    if (status !== 'completed' || arrivals.length !== entries) incomplete++;
    for (const arrival of arrivals) {
      if (arrival.live) recorder.record(arrival.parsedAt - arrival.loggedAt);
      else beforeSubscribe++;
    }
  }
  clearTimeout(deadline);
  return { summary: recorder.summary(), measured: recorder.count, beforeSubscribe, incomplete };
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
    for (const streams of levels) {
      const ours = await measureChariot(server, http, cookies, streams, entries, intervalMs);
      const base = await measureRaw(raw, streams, entries, intervalMs);
      log(`  ${String(streams).padStart(5)} streams  chariot p50 ${ours.summary.p50Ms.toFixed(2)} ms p99 ${ours.summary.p99Ms.toFixed(2)} ms (${ours.measured} entries, ${ours.incomplete} incomplete)  raw p50 ${base.p50Ms.toFixed(2)} ms p99 ${base.p99Ms.toFixed(2)} ms`);
      results.push({
        streams,
        entriesExpected: streams * entries,
        entriesMeasured: ours.measured,
        entriesBeforeSubscribe: ours.beforeSubscribe,
        incompleteStreams: ours.incomplete,
        chariot: ours.summary,
        rawIsolate: base,
        ratios: { p50VsRawIsolate: ratio(ours.summary.p50Ms, base.p50Ms), p99VsRawIsolate: ratio(ours.summary.p99Ms, base.p99Ms) },
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

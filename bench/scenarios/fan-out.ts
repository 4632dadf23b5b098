// Scenario 3: fan-out. One execution, S subscribers (1,000 and 2,000) of its log stream, all
// connected before its first entry; it logs `entries` entries, one every `intervalMs`.
// Checked: every subscriber got every entry, in order, then `done` "completed". Measured:
// the latency of each delivery (as in scenario 2), the spread of each entry (last
// subscriber's parse minus the first's), and the server's resident memory per subscriber
// (after a GC, with the execution waiting and no subscriber, then with all S connected).
//
// The subscribers run in this (the harness) process, the server in a child process; each
// subscriber is its own TCP connection, so S descriptors on each side (`ulimit -n` is checked).
// Baseline for the latency ratio: the raw log path with one stream (raw-worker.ts), the floor
// for delivering an entry from an isolate to a main thread. Memory has no baseline.
import { availableParallelism } from 'node:os';
import { RawIsolatePool } from '../baselines/raw-isolate.js';
import { WallClock } from '../lib/clock.js';
import { LatencyRecorder, ratio, type LatencySummary } from '../lib/histogram.js';
import { benchUsers, HttpTarget, loginUsers } from '../lib/http.js';
import type { MachineDescription } from '../lib/machine.js';
import { forEachLimited } from '../lib/parallel.js';
import { startChariot, type MemorySample, type ServerProcess } from '../lib/processes.js';
import type { Profile } from '../lib/profile.js';
import { steadyLogger } from '../lib/programs.js';
import { subscribe, type Subscription } from '../lib/sse-subscriber.js';

export interface FanOutLevel {
  readonly subscribers: number;
  readonly entries: number;
  /** How long connecting every subscriber took (at most 100 connecting at once). */
  readonly connectMs: number;
  readonly allConnectedBeforeFirstEntry: boolean;
  /** Subscribers that got entries 1..entries, each once, in order, then done "completed". */
  readonly subscribersComplete: number;
  readonly allReceivedEveryEntry: boolean;
  /** Deliveries of entries logged before their subscriber had connected: not timed. */
  readonly deliveriesBeforeSubscribe: number;
  /** logPrint → parsed at a subscriber, over every live (subscriber, entry) delivery. */
  readonly latency: LatencySummary;
  /** Per entry: parse time at the last subscriber minus at the first (live deliveries). */
  readonly spread: LatencySummary;
  readonly memory: {
    readonly rssBeforeBytes: number;
    readonly rssWithSubscribersBytes: number;
    readonly rssPerSubscriberBytes: number;
    readonly heapPerSubscriberBytes: number;
  };
  readonly ratios: { readonly p50VsRawIsolate: number | null; readonly p99VsRawIsolate: number | null };
}

export interface FanOutResult {
  readonly intervalMs: number;
  /** The raw log path with one stream, the same entries and interval. */
  readonly rawIsolate: LatencySummary;
  readonly levels: readonly FanOutLevel[];
}

const CONNECT_PARALLEL = 100;
const WARMUP_SUBSCRIBERS = 10;
/** Descriptors this process needs besides the subscribers' sockets. */
const SPARE_DESCRIPTORS = 200;

async function rawOneStream(entries: number, intervalMs: number): Promise<LatencySummary> {
  const pool = new RawIsolatePool(1);
  try {
    const recorder = new LatencyRecorder();
    const clock = WallClock.calibrate();
    const task = { kind: 'logStreams', streams: 1, entries, intervalMs, startAt: Date.now() + 300, staggerMs: 0 } as const;
    await pool.logStreams([task], (isolateMs) => recorder.record(clock.now() - isolateMs));
    return recorder.summary();
  } finally {
    await pool.close();
  }
}

interface Delivery {
  readonly connectMs: number;
  readonly allConnectedBeforeFirstEntry: boolean;
  readonly complete: number;
  readonly outOfOrder: number;
  readonly beforeSubscribe: number;
  readonly latency: LatencySummary;
  readonly spread: LatencySummary;
  readonly memoryBefore: MemorySample;
  readonly memoryDuring: MemorySample;
}

/** One execution, `count` subscribers connected before its first entry (if the budget allows). */
async function deliver(server: ServerProcess, http: HttpTarget, cookie: string, count: number, entries: number, intervalMs: number): Promise<Delivery> {
  const clock = WallClock.calibrate();
  const startAt = Date.now() + 1000 + Math.ceil(2.5 * count);
  const submitted = await http.post('/api/execute-async', { program: steadyLogger(startAt, entries, intervalMs) }, cookie);
  if (submitted.status !== 200) throw new Error(`execute-async answered ${submitted.status}: ${submitted.text}`);
  const id = (JSON.parse(submitted.text) as { execution_id: string }).execution_id;
  const memoryBefore = await server.memory();

  const latency = new LatencyRecorder();
  const first = new Array<number>(entries + 1).fill(Number.POSITIVE_INFINITY);
  const last = new Array<number>(entries + 1).fill(Number.NEGATIVE_INFINITY);
  const nextSeq = new Array<number>(count).fill(1);
  let outOfOrder = 0;
  let beforeSubscribe = 0;
  const connectStart = clock.now();
  const subscriptions: Subscription[] = await forEachLimited(count, CONNECT_PARALLEL, (i) =>
    subscribe(server.url, `/api/logs/${id}`, cookie, clock, (entry) => {
      if (entry.seq !== nextSeq[i]) outOfOrder++;
      nextSeq[i] = entry.seq + 1;
      if (!entry.live) {
        beforeSubscribe++;
        return;
      }
      latency.record(entry.parsedAt - entry.loggedAt);
      first[entry.seq] = Math.min(first[entry.seq]!, entry.parsedAt);
      last[entry.seq] = Math.max(last[entry.seq]!, entry.parsedAt);
    }));
  const connected = clock.now();
  const memoryDuring = await server.memory();
  const statuses = await Promise.all(subscriptions.map((subscription) => subscription.ended));
  const spread = new LatencyRecorder();
  for (let seq = 1; seq <= entries; seq++) if (last[seq]! >= first[seq]!) spread.record(last[seq]! - first[seq]!);
  return {
    connectMs: Math.round(connected - connectStart),
    allConnectedBeforeFirstEntry: connected < startAt,
    complete: statuses.filter((status, i) => status === 'completed' && nextSeq[i] === entries + 1).length,
    outOfOrder,
    beforeSubscribe,
    latency: latency.summary(),
    spread: spread.summary(),
    memoryBefore,
    memoryDuring,
  };
}

export async function runFanOut(profile: Profile, machine: MachineDescription, log: (line: string) => void): Promise<FanOutResult> {
  const { subscribers: levels, entries, intervalMs } = profile.fanOut;
  const most = Math.max(...levels);
  if (machine.openFilesLimit < most + SPARE_DESCRIPTORS) {
    throw new Error(`fan-out to ${most} subscribers needs ulimit -n of at least ${most + SPARE_DESCRIPTORS} (it is ${machine.openFilesLimit})`);
  }
  const rawIsolate = await rawOneStream(entries, intervalMs);
  const users = benchUsers(1);
  const results: FanOutLevel[] = [];
  for (const count of levels) {
    // A fresh server per level: resident memory that an earlier level made the process take
    // is not given back to the system, and would hide the next level's growth.
    // One user holds every subscriber: room for them, whatever the default cap.
    const server = await startChariot({ CHARIOT_THREADS: String(availableParallelism()), CHARIOT_USERS: users.env, CHARIOT_MAX_STREAMS_PER_USER: String(most) });
    const http = new HttpTarget(server.url, 4);
    try {
      const [cookie] = await loginUsers(http, users.names);
      // Warm-up, not recorded: the user's isolates, and the JIT of the routes and the SSE writer.
      await deliver(server, http, cookie!, WARMUP_SUBSCRIBERS, 3, intervalMs);
      const run = await deliver(server, http, cookie!, count, entries, intervalMs);
      const level: FanOutLevel = {
        subscribers: count,
        entries,
        connectMs: run.connectMs,
        allConnectedBeforeFirstEntry: run.allConnectedBeforeFirstEntry,
        subscribersComplete: run.complete,
        allReceivedEveryEntry: run.complete === count && run.outOfOrder === 0,
        deliveriesBeforeSubscribe: run.beforeSubscribe,
        latency: run.latency,
        spread: run.spread,
        memory: {
          rssBeforeBytes: run.memoryBefore.rssBytes,
          rssWithSubscribersBytes: run.memoryDuring.rssBytes,
          rssPerSubscriberBytes: Math.round((run.memoryDuring.rssBytes - run.memoryBefore.rssBytes) / count),
          heapPerSubscriberBytes: Math.round((run.memoryDuring.heapUsedBytes - run.memoryBefore.heapUsedBytes) / count),
        },
        ratios: { p50VsRawIsolate: ratio(run.latency.p50Ms, rawIsolate.p50Ms), p99VsRawIsolate: ratio(run.latency.p99Ms, rawIsolate.p99Ms) },
      };
      log(`  ${String(count).padStart(5)} subscribers  ${run.complete}/${count} complete  latency p50 ${level.latency.p50Ms.toFixed(2)} ms p99 ${level.latency.p99Ms.toFixed(2)} ms  spread p50 ${level.spread.p50Ms.toFixed(2)} ms max ${level.spread.maxMs.toFixed(2)} ms  ${(level.memory.rssPerSubscriberBytes / 1024).toFixed(1)} KiB/subscriber${run.allConnectedBeforeFirstEntry ? '' : '  (some connected late)'}`);
      results.push(level);
    } finally {
      await http.close();
      await server.close();
    }
  }
  return { intervalMs, rawIsolate, levels: results };
}

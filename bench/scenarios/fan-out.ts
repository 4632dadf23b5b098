// Scenario 3: fan-out. One execution, S subscribers (1,000 and 2,000) of its log stream, all
// connected before its first entry; it logs `entries` entries, one every `intervalMs`.
// Checked: every subscriber got every entry, in order, then `done` "completed". Measured:
// the latency of each delivery (as in scenario 2), the spread of each entry (last
// subscriber's parse minus the first's), and the server's resident memory per subscriber
// (after a GC, with the execution waiting and no subscriber, then with all S connected).
//
// Each level runs twice, SSE subscribers (a connection each) and WebSocket subscribers (a
// socket each, one subscription on it), each on a fresh server, the one measured first
// swapping from level to level. A socket cannot subscribe twice to one execution, so fan-out
// to S subscribers takes S sockets on either transport.
//
// The subscribers run in this (the harness) process, the server in a child process; each
// subscriber is its own TCP connection, so S descriptors on each side (`ulimit -n` is checked).
// Baselines: for the latency ratio, the raw log path with one stream (raw-worker.ts), the floor
// for delivering an entry from an isolate to a main thread; for the WebSocket, SSE at the same S.
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
import { SUBSCRIBERS, type Subscribe, type Subscription, type Transport } from '../lib/log-subscribers.js';

/** One transport's figures at one level. */
export interface FanOutDelivery {
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
  /** Mean bytes on the wire per delivery: the SSE event, or the WebSocket frame. */
  readonly bytesPerDelivery: number;
}

/** The SSE figures keep the fields of schema 5; the WebSocket's are in `ws`. */
export interface FanOutLevel extends FanOutDelivery {
  readonly subscribers: number;
  readonly entries: number;
  readonly ws: FanOutDelivery;
  /** Which transport this level measured first. */
  readonly firstTransport: Transport;
  readonly ratios: {
    readonly p50VsRawIsolate: number | null;
    readonly p99VsRawIsolate: number | null;
    readonly wsP50VsRawIsolate: number | null;
    readonly wsP99VsRawIsolate: number | null;
    /** WebSocket / SSE: above 1, the WebSocket is slower, spreads more or holds more. */
    readonly wsP50VsSse: number | null;
    readonly wsP99VsSse: number | null;
    readonly wsSpreadP50VsSse: number | null;
    readonly wsSpreadMaxVsSse: number | null;
    readonly wsConnectVsSse: number | null;
    readonly wsRssPerSubscriberVsSse: number | null;
    readonly wsHeapPerSubscriberVsSse: number | null;
  };
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
  readonly bytesPerDelivery: number;
}

/** One execution, `count` subscribers connected before its first entry (if the budget allows). */
async function deliver(server: ServerProcess, http: HttpTarget, subscribe: Subscribe, cookie: string, count: number, entries: number, intervalMs: number): Promise<Delivery> {
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
  let bytes = 0;
  let deliveries = 0;
  const connectStart = clock.now();
  const subscriptions: Subscription[] = await forEachLimited(count, CONNECT_PARALLEL, (i) =>
    subscribe(server.url, id, cookie, clock, (entry) => {
      bytes += entry.bytes;
      deliveries++;
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
    bytesPerDelivery: deliveries === 0 ? 0 : Math.round(bytes / deliveries),
  };
}

/** One transport at one level: a fresh server, a warm-up, then `count` subscribers. */
async function measureLevel(subscribe: Subscribe, users: ReturnType<typeof benchUsers>, most: number, count: number, entries: number, intervalMs: number): Promise<FanOutDelivery> {
  // A fresh server per level and transport: resident memory that an earlier run made the
  // process take is not given back to the system, and would hide the next run's growth.
  // One user holds every subscriber: room for them, whatever the default cap.
  const server = await startChariot({ CHARIOT_THREADS: String(availableParallelism()), CHARIOT_USERS: users.env, CHARIOT_MAX_STREAMS_PER_USER: String(most) });
  const http = new HttpTarget(server.url, 4);
  try {
    const [cookie] = await loginUsers(http, users.names);
    // Warm-up, not recorded: the user's isolates, and the JIT of the routes and the stream writer.
    await deliver(server, http, subscribe, cookie!, WARMUP_SUBSCRIBERS, 3, intervalMs);
    const run = await deliver(server, http, subscribe, cookie!, count, entries, intervalMs);
    return {
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
      bytesPerDelivery: run.bytesPerDelivery,
    };
  } finally {
    await http.close();
    await server.close();
  }
}

function summaryLine(name: string, count: number, d: FanOutDelivery): string {
  return `${name} ${d.subscribersComplete}/${count} complete  latency p50 ${d.latency.p50Ms.toFixed(2)} ms p99 ${d.latency.p99Ms.toFixed(2)} ms  spread p50 ${d.spread.p50Ms.toFixed(2)} ms max ${d.spread.maxMs.toFixed(2)} ms  ${(d.memory.rssPerSubscriberBytes / 1024).toFixed(1)} KiB/subscriber${d.allConnectedBeforeFirstEntry ? '' : '  (some connected late)'}`;
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
  for (const [index, count] of levels.entries()) {
    const order: Transport[] = index % 2 === 0 ? ['sse', 'ws'] : ['ws', 'sse'];
    const measured = {} as Record<Transport, FanOutDelivery>;
    for (const transport of order) measured[transport] = await measureLevel(SUBSCRIBERS[transport], users, most, count, entries, intervalMs);
    const { sse, ws } = measured;
    log(`  ${String(count).padStart(5)} subscribers  ${summaryLine('sse', count, sse)}`);
    log(`  ${' '.repeat(5)}              ${summaryLine('ws ', count, ws)}`);
    results.push({
      subscribers: count,
      entries,
      ...sse,
      ws,
      firstTransport: order[0]!,
      ratios: {
        p50VsRawIsolate: ratio(sse.latency.p50Ms, rawIsolate.p50Ms),
        p99VsRawIsolate: ratio(sse.latency.p99Ms, rawIsolate.p99Ms),
        wsP50VsRawIsolate: ratio(ws.latency.p50Ms, rawIsolate.p50Ms),
        wsP99VsRawIsolate: ratio(ws.latency.p99Ms, rawIsolate.p99Ms),
        wsP50VsSse: ratio(ws.latency.p50Ms, sse.latency.p50Ms),
        wsP99VsSse: ratio(ws.latency.p99Ms, sse.latency.p99Ms),
        wsSpreadP50VsSse: ratio(ws.spread.p50Ms, sse.spread.p50Ms),
        wsSpreadMaxVsSse: ratio(ws.spread.maxMs, sse.spread.maxMs),
        wsConnectVsSse: ratio(ws.connectMs, sse.connectMs),
        wsRssPerSubscriberVsSse: ratio(ws.memory.rssPerSubscriberBytes, sse.memory.rssPerSubscriberBytes),
        wsHeapPerSubscriberVsSse: ratio(ws.memory.heapPerSubscriberBytes, sse.memory.heapPerSubscriberBytes),
      },
    });
  }
  return { intervalMs, rawIsolate, levels: results };
}

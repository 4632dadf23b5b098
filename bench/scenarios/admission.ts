// Scenario 5: admission under overload. The server with its default limits (64 unfinished
// executions per user, queue 1000, threads = cores) and 8 users; each request runs fib(n),
// a few milliseconds of CPU.
//   1. unloaded: one request at a time (the latency an accepted request would have alone);
//   2. capacity: a closed loop of 64 (successful executions per second the server sustains);
//   3. overload: an open loop offering `overload` × that capacity for `overloadMs`, spread
//      evenly over the users, while /healthz is sampled every `healthzEveryMs` on a
//      connection of its own.
// Reported: the shares of 200 / 429 / 503 (queue full, or a predicted wait over
// CHARIOT_MAX_QUEUE_WAIT_MS) / 500 for one that waited the limit / other answers, the latency of
// the accepted ones (against the wait limit too), the accepted rate, and /healthz latency during
// the overload against idle.
// Baselines: accepted rate against the raw-isolate ceiling for the same script (closed loop
// of 64, no HTTP); latencies against the same server unloaded and idle. The fork server has
// no admission control to compare with.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawIsolatePool } from '../baselines/raw-isolate.js';
import { LatencyRecorder, ratio, round, type LatencySummary } from '../lib/histogram.js';
import { benchUsers, HttpTarget, loginUsers } from '../lib/http.js';
import { closedLoop, openLoop, type LoadResult, type OpenLoopResult } from '../lib/load.js';
import { startChariot } from '../lib/processes.js';
import type { Profile } from '../lib/profile.js';
import { fibProgram, fibValue } from '../lib/programs.js';
import { DEFAULTS } from '../../src/config.js';

export interface HealthzSamples {
  readonly latency: LatencySummary;
  /** Samples that did not answer 200. */
  readonly failures: number;
  /** The most executions the server itself reported running / queued in one sample. */
  readonly maxRunning: number;
  readonly maxQueued: number;
}

export interface AdmissionResult {
  readonly program: string;
  readonly users: number;
  readonly serverEnv: Readonly<Record<string, string>>;
  readonly unloaded: LoadResult;
  readonly capacity: LoadResult;
  readonly rawIsolateCapacity: LoadResult;
  readonly overload: OpenLoopResult & {
    /** Shares of all answers, 0..1. */
    readonly shares: {
      readonly accepted: number;
      readonly tooMany429: number;
      /** 503 QUEUE_FULL (and any other 503). */
      readonly queueFull503: number;
      /** 503 QUEUE_WAIT: refused at once for a predicted wait over the limit. */
      readonly queueWait503: number;
      /** 500: accepted, then ended for having waited the limit without starting. */
      readonly waitedOut500: number;
      readonly other: number;
    };
    readonly acceptedRps: number;
  };
  readonly healthz: { readonly idle: HealthzSamples; readonly duringOverload: HealthzSamples };
  /** CHARIOT_MAX_QUEUE_WAIT_MS of the server (its default). */
  readonly maxQueueWaitMs: number;
  readonly ratios: {
    readonly acceptedP99VsWaitLimit: number | null;
    readonly acceptedRpsVsCapacity: number | null;
    readonly acceptedRpsVsRawIsolate: number | null;
    readonly acceptedP50VsUnloaded: number | null;
    readonly acceptedP99VsUnloaded: number | null;
    readonly healthzP50VsIdle: number | null;
    readonly healthzP99VsIdle: number | null;
  };
}

const USERS = 8;
/** Enough to keep every thread busy and the scheduler's queue non-empty. */
const CAPACITY_CONCURRENCY = 64;
const MAX_IN_FLIGHT = 1024;

/** Samples GET /healthz every `everyMs` until `until()` holds, one at a time. */
async function sampleHealthz(http: HttpTarget, everyMs: number, until: () => boolean): Promise<HealthzSamples> {
  const recorder = new LatencyRecorder();
  let failures = 0;
  let maxRunning = 0;
  let maxQueued = 0;
  while (!until()) {
    const start = performance.now();
    try {
      const answer = await http.get('/healthz');
      if (answer.status === 200) {
        recorder.record(performance.now() - start);
        const { pool } = JSON.parse(answer.text) as { pool: { running: number; queued: number } };
        maxRunning = Math.max(maxRunning, pool.running);
        maxQueued = Math.max(maxQueued, pool.queued);
      } else {
        failures++;
      }
    } catch {
      failures++;
    }
    await sleep(Math.max(0, everyMs - (performance.now() - start)));
  }
  return { latency: recorder.summary(), failures, maxRunning, maxQueued };
}

export async function runAdmission(profile: Profile, log: (line: string) => void): Promise<AdmissionResult> {
  const { fibN, unloadedMs, idleMs, capacityMs, overload, overloadMs, healthzEveryMs } = profile.admission;
  const program = fibProgram(fibN);
  const expected = `"result":${fibValue(fibN)}`;
  const threads = availableParallelism();
  const users = benchUsers(USERS);
  const server = await startChariot({ CHARIOT_THREADS: String(threads), CHARIOT_USERS: users.env });
  const http = new HttpTarget(server.url, MAX_IN_FLIGHT);
  const health = new HttpTarget(server.url, 1);
  const raw = new RawIsolatePool(threads);
  try {
    const cookies = await loginUsers(http, users.names);
    const execute = async (index: number): Promise<string> => {
      const answer = await http.post('/api/execute', { program }, cookies[index % USERS]!);
      if (answer.status === 200 && !answer.text.includes(expected)) return 'bad-result';
      if (answer.status === 503 && answer.text.includes('"QUEUE_WAIT"')) return '503-wait';
      if (answer.status === 500 && answer.text.includes('for a slot without starting')) return '500-waited';
      return String(answer.status);
    };
    const closed = async (index: number): Promise<string | undefined> => {
      const status = await execute(index);
      return status === '200' ? undefined : status;
    };
    const warmupMs = Math.min(300, capacityMs / 2);
    const unloaded = await closedLoop(closed, { concurrency: 1, warmupMs, durationMs: unloadedMs });
    const capacity = await closedLoop(closed, { concurrency: CAPACITY_CONCURRENCY, warmupMs, durationMs: capacityMs });
    const rawIsolateCapacity = await closedLoop(
      async () => ((await raw.run({ kind: 'isolate', source: program })) === fibValue(fibN) ? undefined : 'bad-result'),
      { concurrency: CAPACITY_CONCURRENCY, warmupMs, durationMs: capacityMs },
    );
    log(`  unloaded p50 ${unloaded.latency.p50Ms.toFixed(2)} ms; capacity ${capacity.rps.toFixed(0)} req/s (raw isolate ${rawIsolateCapacity.rps.toFixed(0)}/s)`);

    let idleDone = false;
    const idleTimer = setTimeout(() => (idleDone = true), idleMs);
    const idle = await sampleHealthz(health, healthzEveryMs, () => idleDone);
    clearTimeout(idleTimer);

    const offered = Math.max(1, Math.round(capacity.rps * overload));
    let overloadDone = false;
    const during = sampleHealthz(health, healthzEveryMs, () => overloadDone);
    const result = await openLoop(execute, { ratePerS: offered, durationMs: overloadMs, maxInFlight: MAX_IN_FLIGHT });
    overloadDone = true;
    const duringOverload = await during;

    const countOf = (label: string): number => result.outcomes[label]?.count ?? 0;
    const answered = Object.values(result.outcomes).reduce((sum, outcome) => sum + outcome.count, 0);
    const share = (n: number): number => (answered === 0 ? 0 : round(n / answered, 4));
    const accepted = result.outcomes['200'];
    const acceptedRps = round(countOf('200') / result.durationS, 1);
    const acceptedLatency = accepted?.latency;
    log(`  offered ${offered} req/s: sent ${result.sent}, not sent ${result.notSent} (client limit ${MAX_IN_FLIGHT}); server's most running ${duringOverload.maxRunning}, queued ${duringOverload.maxQueued}`);
    log(`  answers 200 ${countOf('200')}, 429 ${countOf('429')}, 503 ${countOf('503')} full + ${countOf('503-wait')} wait, 500 waited out ${countOf('500-waited')}; accepted p50 ${acceptedLatency?.p50Ms.toFixed(1) ?? '-'} p99 ${acceptedLatency?.p99Ms.toFixed(1) ?? '-'} ms; /healthz p99 ${duringOverload.latency.p99Ms.toFixed(2)} ms (idle ${idle.latency.p99Ms.toFixed(2)} ms)`);
    return {
      program,
      users: USERS,
      serverEnv: { CHARIOT_THREADS: String(threads), CHARIOT_USERS: `${USERS} users`, CHARIOT_MAX_PER_USER: '64 (default)', CHARIOT_MAX_QUEUE: '1000 (default)', CHARIOT_MAX_QUEUE_WAIT_MS: `${DEFAULTS.maxQueueWaitMs} (default)` },
      unloaded,
      capacity,
      rawIsolateCapacity,
      overload: {
        ...result,
        shares: {
          accepted: share(countOf('200')),
          tooMany429: share(countOf('429')),
          queueFull503: share(countOf('503')),
          queueWait503: share(countOf('503-wait')),
          waitedOut500: share(countOf('500-waited')),
          other: share(answered - countOf('200') - countOf('429') - countOf('503') - countOf('503-wait') - countOf('500-waited')),
        },
        acceptedRps,
      },
      healthz: { idle, duringOverload },
      maxQueueWaitMs: DEFAULTS.maxQueueWaitMs,
      ratios: {
        acceptedP99VsWaitLimit: ratio(acceptedLatency?.p99Ms ?? 0, DEFAULTS.maxQueueWaitMs),
        acceptedRpsVsCapacity: ratio(acceptedRps, capacity.rps),
        acceptedRpsVsRawIsolate: ratio(acceptedRps, rawIsolateCapacity.rps),
        acceptedP50VsUnloaded: ratio(acceptedLatency?.p50Ms ?? 0, unloaded.latency.p50Ms),
        acceptedP99VsUnloaded: ratio(acceptedLatency?.p99Ms ?? 0, unloaded.latency.p99Ms),
        healthzP50VsIdle: ratio(duringOverload.latency.p50Ms, idle.latency.p50Ms),
        healthzP99VsIdle: ratio(duringOverload.latency.p99Ms, idle.latency.p99Ms),
      },
    };
  } finally {
    await Promise.allSettled([http.close(), health.close()]);
    await Promise.allSettled([server.close(), raw.close()]);
  }
}

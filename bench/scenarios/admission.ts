// Scenario 5: admission under overload. The server with its default limits (64 unfinished
// executions per user, queue 1000, threads = cores) and 8 users; each request runs fib(n),
// a few milliseconds of CPU.
//   1. unloaded: one request at a time (the latency an accepted request would have alone);
//   2. capacity: a closed loop of 64 (successful executions per second the server sustains);
//   3. overload: an open loop offering `overload` × that capacity for `overloadMs`, spread
//      evenly over the users, while /healthz is sampled every `healthzEveryMs` on a
//      connection of its own, from a process of its own (lib/healthz-probe.ts).
// Reported: the shares of 200 / 429 / 503 (queue full, or a predicted wait over
// CHARIOT_MAX_QUEUE_WAIT_MS) / 500 for one that waited the limit / other answers, the latency of
// the accepted ones (against the wait limit too), the accepted rate, and /healthz latency during
// the overload against idle.
// Baselines: accepted rate against the raw-isolate ceiling for the same script (closed loop
// of 64, no HTTP); latencies against the same server unloaded and idle; and the same overload
// offered to a second server as admission was before the bounded wait ("unbounded": no wait
// limit, worker threads at the main thread's priority), so that the run shows what the bound
// and the priority buy. The fork server has no admission control to compare with.
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawIsolatePool } from '../baselines/raw-isolate.js';
import { startHealthzProbe, type HealthzSamples } from '../lib/healthz-probe.js';
import { ratio, round } from '../lib/histogram.js';
import { benchUsers, HttpTarget, loginUsers } from '../lib/http.js';
import { closedLoop, openLoop, type LoadResult, type OpenLoopResult } from '../lib/load.js';
import { startChariot } from '../lib/processes.js';
import type { Profile } from '../lib/profile.js';
import { fibProgram, fibValue } from '../lib/programs.js';
import { DEFAULTS } from '../../src/config.js';


/** One overload phase's answers, against one server. */
export interface OverloadPhase extends OpenLoopResult {
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
  readonly healthz: HealthzSamples;
}

export interface AdmissionResult {
  readonly program: string;
  readonly users: number;
  readonly serverEnv: Readonly<Record<string, string>>;
  readonly unloaded: LoadResult;
  readonly capacity: LoadResult;
  readonly rawIsolateCapacity: LoadResult;
  readonly overload: OverloadPhase;
  /** The same offered load against a server admitting as before the bounded wait. */
  readonly overloadUnbounded: OverloadPhase;
  readonly unboundedEnv: Readonly<Record<string, string>>;
  readonly healthz: { readonly idle: HealthzSamples; readonly duringOverload: HealthzSamples };
  /** CHARIOT_MAX_QUEUE_WAIT_MS of the server (its default). */
  readonly maxQueueWaitMs: number;
  readonly ratios: {
    readonly acceptedP99VsWaitLimit: number | null;
    readonly acceptedP99VsUnbounded: number | null;
    readonly healthzP99VsUnbounded: number | null;
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

/** The server env of the "unbounded" baseline: admission as before CHARIOT_MAX_QUEUE_WAIT_MS. */
const UNBOUNDED_ENV = Object.freeze({ CHARIOT_MAX_QUEUE_WAIT_MS: '86400000', CHARIOT_WORKER_NICE: '0' });

/** A server of the scenario, its users logged in: run `program` synchronously as user `index % USERS`. */
async function admissionServer(env: Readonly<Record<string, string>>, names: readonly string[], program: string, expected: string) {
  const server = await startChariot(env);
  const http = new HttpTarget(server.url, MAX_IN_FLIGHT);
  const close = async (): Promise<void> => {
    await http.close();
    await server.close();
  };
  try {
    const cookies = await loginUsers(http, names);
    const execute = async (index: number): Promise<string> => {
      const answer = await http.post('/api/execute', { program }, cookies[index % USERS]!);
      if (answer.status === 200 && !answer.text.includes(expected)) return 'bad-result';
      if (answer.status === 503 && answer.text.includes('"QUEUE_WAIT"')) return '503-wait';
      if (answer.status === 500 && answer.text.includes('for a slot without starting')) return '500-waited';
      return String(answer.status);
    };
    return { execute, url: server.url, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Offers `ratePerS` for `durationMs` in an open loop while /healthz is sampled. */
async function overloadPhase(
  execute: (index: number) => Promise<string>,
  url: string,
  ratePerS: number,
  durationMs: number,
  healthzEveryMs: number,
): Promise<OverloadPhase> {
  const probe = await startHealthzProbe(url, healthzEveryMs);
  const result = await openLoop(execute, { ratePerS, durationMs, maxInFlight: MAX_IN_FLIGHT });
  const healthz = await probe.stop();
  const countOf = (label: string): number => result.outcomes[label]?.count ?? 0;
  const answered = Object.values(result.outcomes).reduce((sum, outcome) => sum + outcome.count, 0);
  const share = (n: number): number => (answered === 0 ? 0 : round(n / answered, 4));
  const named = ['200', '429', '503', '503-wait', '500-waited'].reduce((sum, label) => sum + countOf(label), 0);
  return {
    ...result,
    shares: {
      accepted: share(countOf('200')),
      tooMany429: share(countOf('429')),
      queueFull503: share(countOf('503')),
      queueWait503: share(countOf('503-wait')),
      waitedOut500: share(countOf('500-waited')),
      other: share(answered - named),
    },
    acceptedRps: round(countOf('200') / result.durationS, 1),
    healthz,
  };
}

function describePhase(name: string, phase: OverloadPhase): string {
  const countOf = (label: string): number => phase.outcomes[label]?.count ?? 0;
  const accepted = phase.outcomes['200']?.latency;
  return `  ${name}: sent ${phase.sent}, not sent ${phase.notSent} (client limit ${MAX_IN_FLIGHT}); server's most running ${phase.healthz.maxRunning}, queued ${phase.healthz.maxQueued}; `
    + `answers 200 ${countOf('200')}, 429 ${countOf('429')}, 503 ${countOf('503')} full + ${countOf('503-wait')} wait, 500 waited out ${countOf('500-waited')}; `
    + `accepted p50 ${accepted?.p50Ms.toFixed(1) ?? '-'} p99 ${accepted?.p99Ms.toFixed(1) ?? '-'} ms; /healthz p99 ${phase.healthz.latency.p99Ms.toFixed(2)} ms`;
}

export async function runAdmission(profile: Profile, log: (line: string) => void): Promise<AdmissionResult> {
  const { fibN, unloadedMs, idleMs, capacityMs, overload, overloadMs, healthzEveryMs } = profile.admission;
  const program = fibProgram(fibN);
  const expected = `"result":${fibValue(fibN)}`;
  const threads = availableParallelism();
  const users = benchUsers(USERS);
  const env = { CHARIOT_THREADS: String(threads), CHARIOT_USERS: users.env };
  const raw = new RawIsolatePool(threads);
  try {
    const chariot = await admissionServer(env, users.names, program, expected);
    let capacity: LoadResult;
    let unloaded: LoadResult;
    let idle: HealthzSamples;
    let bounded: OverloadPhase;
    try {
      const closed = async (index: number): Promise<string | undefined> => {
        const status = await chariot.execute(index);
        return status === '200' ? undefined : status;
      };
      const warmupMs = Math.min(300, capacityMs / 2);
      unloaded = await closedLoop(closed, { concurrency: 1, warmupMs, durationMs: unloadedMs });
      capacity = await closedLoop(closed, { concurrency: CAPACITY_CONCURRENCY, warmupMs, durationMs: capacityMs });
      const idleProbe = await startHealthzProbe(chariot.url, healthzEveryMs);
      await sleep(idleMs);
      idle = await idleProbe.stop();
      bounded = await overloadPhase(chariot.execute, chariot.url, Math.max(1, Math.round(capacity.rps * overload)), overloadMs, healthzEveryMs);
    } finally {
      await chariot.close();
    }
    const offered = Math.max(1, Math.round(capacity.rps * overload));
    const rawIsolateCapacity = await closedLoop(
      async () => ((await raw.run({ kind: 'isolate', source: program })) === fibValue(fibN) ? undefined : 'bad-result'),
      { concurrency: CAPACITY_CONCURRENCY, warmupMs: Math.min(300, capacityMs / 2), durationMs: capacityMs },
    );
    const before = await admissionServer({ ...env, ...UNBOUNDED_ENV }, users.names, program, expected);
    let unbounded: OverloadPhase;
    try {
      unbounded = await overloadPhase(before.execute, before.url, offered, overloadMs, healthzEveryMs);
    } finally {
      await before.close();
    }
    log(`  unloaded p50 ${unloaded.latency.p50Ms.toFixed(2)} ms; capacity ${capacity.rps.toFixed(0)} req/s (raw isolate ${rawIsolateCapacity.rps.toFixed(0)}/s); offered ${offered} req/s`);
    log(describePhase('bounded (defaults)', bounded));
    log(describePhase('unbounded (as before)', unbounded));
    const acceptedLatency = bounded.outcomes['200']?.latency;
    const unboundedLatency = unbounded.outcomes['200']?.latency;
    return {
      program,
      users: USERS,
      serverEnv: {
        CHARIOT_THREADS: String(threads),
        CHARIOT_USERS: `${USERS} users`,
        CHARIOT_MAX_PER_USER: '64 (default)',
        CHARIOT_MAX_QUEUE: '1000 (default)',
        CHARIOT_MAX_QUEUE_WAIT_MS: `${DEFAULTS.maxQueueWaitMs} (default)`,
        CHARIOT_WORKER_NICE: `${DEFAULTS.workerNice} (default)`,
      },
      unloaded,
      capacity,
      rawIsolateCapacity,
      overload: bounded,
      overloadUnbounded: unbounded,
      unboundedEnv: UNBOUNDED_ENV,
      healthz: { idle, duringOverload: bounded.healthz },
      maxQueueWaitMs: DEFAULTS.maxQueueWaitMs,
      ratios: {
        acceptedP99VsWaitLimit: ratio(acceptedLatency?.p99Ms ?? 0, DEFAULTS.maxQueueWaitMs),
        acceptedP99VsUnbounded: ratio(acceptedLatency?.p99Ms ?? 0, unboundedLatency?.p99Ms ?? 0),
        healthzP99VsUnbounded: ratio(bounded.healthz.latency.p99Ms, unbounded.healthz.latency.p99Ms),
        acceptedRpsVsCapacity: ratio(bounded.acceptedRps, capacity.rps),
        acceptedRpsVsRawIsolate: ratio(bounded.acceptedRps, rawIsolateCapacity.rps),
        acceptedP50VsUnloaded: ratio(acceptedLatency?.p50Ms ?? 0, unloaded.latency.p50Ms),
        acceptedP99VsUnloaded: ratio(acceptedLatency?.p99Ms ?? 0, unloaded.latency.p99Ms),
        healthzP50VsIdle: ratio(bounded.healthz.latency.p50Ms, idle.latency.p50Ms),
        healthzP99VsIdle: ratio(bounded.healthz.latency.p99Ms, idle.latency.p99Ms),
      },
    };
  } finally {
    await raw.close();
  }
}

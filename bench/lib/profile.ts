// How long and how hard each scenario runs. `quick` (the default) ends in under 3 minutes
// on a 2-core machine; `full` runs longer and at more levels; `tiny` only checks that the
// harness works (the smoke test) and its figures mean nothing.

export type ProfileName = 'tiny' | 'quick' | 'full';

export interface Profile {
  readonly name: ProfileName;
  readonly throughput: {
    /** Concurrent requests (closed-loop workers) per level. */
    readonly levels: readonly number[];
    readonly warmupMs: number;
    readonly durationMs: number;
    /** The raw-isolate baseline is cheap per request; it needs less time for stable figures. */
    readonly rawDurationMs: number;
    /** After the last level, the wait before each server's resident memory is read again ("a minute after"). */
    readonly afterMs: number;
  };
  readonly logLatency: {
    /** Concurrent executions, each with one subscriber. */
    readonly streams: readonly number[];
    readonly entries: number;
    readonly intervalMs: number;
  };
  readonly fanOut: {
    readonly subscribers: readonly number[];
    readonly entries: number;
    readonly intervalMs: number;
  };
  readonly cpu: {
    /** fib(n) per execution. */
    readonly fibN: number;
    /** Executions submitted at once per thread count. */
    readonly jobs: number;
    /** Repetitions per thread count; the best one counts (see cpu-scaling.ts). */
    readonly rounds: number;
  };
  readonly admission: {
    readonly fibN: number;
    /** One request at a time, for the latency of an accepted request alone. */
    readonly unloadedMs: number;
    /** /healthz sampled on the idle server. */
    readonly idleMs: number;
    readonly capacityMs: number;
    /** Offered load as a multiple of the measured capacity. */
    readonly overload: number;
    readonly overloadMs: number;
    readonly healthzEveryMs: number;
  };
  readonly memory: {
    /** Awaiting executions of one user held at once, one fresh server per level. */
    readonly running: readonly number[];
    /** CHARIOT_SPARE_ISOLATES measured against 0. */
    readonly spares: number;
    /**
     * Trivial executions before the first reading, 2 × threads at a time: a count, not a time,
     * since each leaves garbage in its isolate that no GC of the main thread collects (500 of
     * them leave 65 ± 3.5 MiB of RSS here, 20 leave 6.3 ± 0.2 MiB).
     */
    readonly warmupExecutions: number;
    /** Pause before each reading. */
    readonly settleMs: number;
  };
  readonly redis: {
    /** Concurrent requests per throughput level, memory and Redis mode alike. */
    readonly levels: readonly number[];
    readonly warmupMs: number;
    readonly durationMs: number;
    /** Subscribers of one execution per delivery level (1: log latency; more: fan-out). */
    readonly subscribers: readonly number[];
    readonly entries: number;
    readonly intervalMs: number;
    readonly memory: { readonly executions: number; readonly entriesPerExecution: number };
    /** Hand-offs: executions of `sleep(sleepMs)` sent to one of two one-slot instances (and to one in memory). */
    readonly handOff: { readonly executions: number; readonly sleepMs: number };
  };
}

const QUICK: Profile = {
  name: 'quick',
  throughput: { levels: [1, 4, 16, 64], warmupMs: 500, durationMs: 3000, rawDurationMs: 2000, afterMs: 60_000 },
  logLatency: { streams: [1, 100, 1000], entries: 10, intervalMs: 200 },
  fanOut: { subscribers: [1000, 2000], entries: 20, intervalMs: 50 },
  cpu: { fibN: 30, jobs: 48, rounds: 3 },
  admission: { fibN: 25, unloadedMs: 1000, idleMs: 1000, capacityMs: 2000, overload: 4, overloadMs: 5000, healthzEveryMs: 50 },
  memory: { running: [16, 64], spares: 8, warmupExecutions: 20, settleMs: 1000 },
  redis: { levels: [1, 16], warmupMs: 500, durationMs: 3000, subscribers: [1, 200], entries: 20, intervalMs: 50, memory: { executions: 100, entriesPerExecution: 100 }, handOff: { executions: 40, sleepMs: 20 } },
};

const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  tiny: {
    name: 'tiny',
    throughput: { levels: [2], warmupMs: 100, durationMs: 300, rawDurationMs: 200, afterMs: 200 },
    logLatency: { streams: [1, 3], entries: 3, intervalMs: 50 },
    fanOut: { subscribers: [10], entries: 3, intervalMs: 50 },
    cpu: { fibN: 20, jobs: 4, rounds: 1 },
    admission: { fibN: 20, unloadedMs: 300, idleMs: 300, capacityMs: 300, overload: 4, overloadMs: 500, healthzEveryMs: 50 },
    memory: { running: [4], spares: 2, warmupExecutions: 8, settleMs: 100 },
    redis: { levels: [2], warmupMs: 100, durationMs: 300, subscribers: [1, 3], entries: 3, intervalMs: 50, memory: { executions: 4, entriesPerExecution: 10 }, handOff: { executions: 6, sleepMs: 20 } },
  },
  quick: QUICK,
  full: {
    name: 'full',
    throughput: { levels: [1, 2, 4, 8, 16, 32, 64, 128], warmupMs: 2000, durationMs: 10_000, rawDurationMs: 5000, afterMs: 60_000 },
    logLatency: { streams: [1, 100, 1000], entries: 50, intervalMs: 200 },
    fanOut: { subscribers: [1000, 2000], entries: 100, intervalMs: 50 },
    cpu: { fibN: 32, jobs: 48, rounds: 3 },
    admission: { fibN: 25, unloadedMs: 3000, idleMs: 2000, capacityMs: 5000, overload: 4, overloadMs: 20_000, healthzEveryMs: 50 },
    memory: { running: [16, 64, 128], spares: 8, warmupExecutions: 20, settleMs: 2000 },
    redis: { levels: [1, 4, 16, 64], warmupMs: 2000, durationMs: 10_000, subscribers: [1, 1000], entries: 100, intervalMs: 50, memory: { executions: 500, entriesPerExecution: 1000 }, handOff: { executions: 200, sleepMs: 20 } },
  },
};

export function profileNamed(name: string): Profile {
  if (name === 'tiny' || name === 'quick' || name === 'full') return PROFILES[name];
  throw new Error(`unknown profile "${name}": tiny, quick or full`);
}

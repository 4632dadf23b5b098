// Scenario 1: throughput and latency of trivial executions (`1+2`) at several concurrency
// levels, closed loop, against four targets measured level by level, interleaved (so that
// background load on a shared machine touches all of them alike):
//   chariotSync    POST /api/execute                              (chariot-exec)
//   chariotAsync   POST /api/execute-async + GET /api/logs/:id to `done` (chariot-exec)
//   forkServer     POST /api/execute on the fork-per-execution baseline
//   rawIsolate     fresh Context + eval in a warm Isolate, same thread count, no HTTP (the ceiling)
// Server configuration: defaults (threads = cores, 64 unfinished per user, queue 1000) with
// 4 users, connections assigned round-robin; at these levels no limit is reached, and any
// refusal would show in `failures`.
import { availableParallelism } from 'node:os';
import { RawIsolatePool } from '../baselines/raw-isolate.js';
import { ratio } from '../lib/histogram.js';
import { benchUsers, HttpTarget, loginUsers } from '../lib/http.js';
import { closedLoop, type LoadResult, type Operation } from '../lib/load.js';
import { startChariot, startForkServer } from '../lib/processes.js';
import type { Profile } from '../lib/profile.js';
import { TRIVIAL } from '../lib/programs.js';

export const THROUGHPUT_TARGETS = ['chariotSync', 'chariotAsync', 'forkServer', 'rawIsolate'] as const;
export type ThroughputTarget = (typeof THROUGHPUT_TARGETS)[number];

/** Ours divided by a baseline: above 1 means more requests/s, or a longer latency. */
export interface Comparison {
  readonly rps: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface ThroughputLevel {
  readonly concurrency: number;
  readonly targets: Readonly<Record<ThroughputTarget, LoadResult>>;
  readonly ratios: {
    readonly chariotSync: { readonly vsRawIsolate: Comparison; readonly vsForkServer: Comparison };
    readonly chariotAsync: { readonly vsRawIsolate: Comparison; readonly vsForkServer: Comparison };
  };
}

export interface ThroughputResult {
  readonly program: string;
  readonly threads: number;
  readonly users: number;
  readonly serverEnv: Readonly<Record<string, string>>;
  readonly levels: readonly ThroughputLevel[];
}

const USERS = 4;

export function compare(ours: LoadResult, base: LoadResult): Comparison {
  return { rps: ratio(ours.rps, base.rps), p50: ratio(ours.latency.p50Ms, base.latency.p50Ms), p99: ratio(ours.latency.p99Ms, base.latency.p99Ms) };
}

export async function runThroughput(profile: Profile, log: (line: string) => void): Promise<ThroughputResult> {
  const threads = availableParallelism();
  const users = benchUsers(USERS);
  const serverEnv = { CHARIOT_THREADS: String(threads), CHARIOT_USERS: users.env };
  const maxLevel = Math.max(...profile.throughput.levels);
  const chariot = await startChariot(serverEnv);
  const fork = await startForkServer({ FORK_USERS: users.env });
  const raw = new RawIsolatePool(threads);
  const chariotHttp = new HttpTarget(chariot.url, maxLevel);
  const forkHttp = new HttpTarget(fork.url, maxLevel);
  try {
    const chariotCookies = await loginUsers(chariotHttp, users.names);
    const forkCookies = await loginUsers(forkHttp, users.names);
    const operations: Record<ThroughputTarget, Operation> = {
      async chariotSync(worker) {
        const answer = await chariotHttp.post('/api/execute', { program: TRIVIAL }, chariotCookies[worker % USERS]!);
        if (answer.status !== 200) return String(answer.status);
        return answer.text.includes('"result":3') ? undefined : 'bad-result';
      },
      async chariotAsync(worker) {
        const cookie = chariotCookies[worker % USERS]!;
        const submitted = await chariotHttp.post('/api/execute-async', { program: TRIVIAL }, cookie);
        if (submitted.status !== 200) return String(submitted.status);
        const id = (JSON.parse(submitted.text) as { execution_id: string }).execution_id;
        const stream = await chariotHttp.get(`/api/logs/${id}`, cookie);
        if (stream.status !== 200) return `logs-${stream.status}`;
        return stream.text.includes('event: done\ndata: {"status":"completed"}') ? undefined : 'bad-result';
      },
      async forkServer(worker) {
        const answer = await forkHttp.post('/api/execute', { program: TRIVIAL }, forkCookies[worker % USERS]!);
        if (answer.status !== 200) return String(answer.status);
        return answer.text.includes('"result":3') ? undefined : 'bad-result';
      },
      async rawIsolate() {
        return (await raw.run({ kind: 'isolate', source: TRIVIAL })) === 3 ? undefined : 'bad-result';
      },
    };
    const levels: ThroughputLevel[] = [];
    for (const concurrency of profile.throughput.levels) {
      const { warmupMs, durationMs, rawDurationMs } = profile.throughput;
      const results = {} as Record<ThroughputTarget, LoadResult>;
      for (const target of THROUGHPUT_TARGETS) {
        const duration = target === 'rawIsolate' ? rawDurationMs : durationMs;
        results[target] = await closedLoop(operations[target], { concurrency, warmupMs, durationMs: duration });
        const r = results[target];
        log(`  c=${concurrency} ${target.padEnd(12)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50Ms.toFixed(2)} ms  p99 ${r.latency.p99Ms.toFixed(2)} ms${Object.keys(r.failures).length > 0 ? `  failures ${JSON.stringify(r.failures)}` : ''}`);
      }
      levels.push({
        concurrency,
        targets: results,
        ratios: {
          chariotSync: { vsRawIsolate: compare(results.chariotSync, results.rawIsolate), vsForkServer: compare(results.chariotSync, results.forkServer) },
          chariotAsync: { vsRawIsolate: compare(results.chariotAsync, results.rawIsolate), vsForkServer: compare(results.chariotAsync, results.forkServer) },
        },
      });
    }
    return { program: TRIVIAL, threads, users: USERS, serverEnv: { CHARIOT_THREADS: String(threads), CHARIOT_USERS: `${USERS} users` }, levels };
  } finally {
    await Promise.allSettled([chariotHttp.close(), forkHttp.close()]);
    await Promise.allSettled([chariot.close(), fork.close(), raw.close()]);
  }
}

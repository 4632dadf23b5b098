// Scenario 1: throughput and latency of trivial executions (`1+2`) at several concurrency
// levels, closed loop, against five targets measured level by level, interleaved (so that
// background load on a shared machine touches all of them alike):
//   chariotSync    POST /api/execute                              (chariot-exec)
//   chariotAsync   POST /api/execute-async + GET /api/logs/:id to `done` (chariot-exec)
//   forkServer     POST /api/execute on the fork-per-execution baseline
//   quickjs        POST /api/execute on the QuickJS baseline (quickjs-emscripten, WebAssembly),
//                  with as many worker threads as chariot-exec
//   rawIsolate     fresh Context + eval in a warm Isolate, same thread count, no HTTP (the ceiling)
//   chariotAgainst POST /api/execute on another commit's build (--against <ref>, builds.ts),
//                  measured next to chariotSync, the two swapping places from level to level
// Server configuration: defaults (threads = cores, 64 unfinished per user, queue 1000) with
// 4 users, connections assigned round-robin; at these levels no limit is reached, and any
// refusal would show in `failures`.
// Each server's resident memory (lib/rss.ts, no collection forced) is read idle (logged in,
// before the first level), at its peak (the high-water mark after the last level), and
// `afterMs` after the last level ("a minute after"), all servers waiting at once.
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawIsolatePool } from '../baselines/raw-isolate.js';
import { ratio } from '../lib/histogram.js';
import { benchUsers, HttpTarget, loginUsers } from '../lib/http.js';
import { closedLoop, type LoadResult, type Operation } from '../lib/load.js';
import type { ChariotBuild } from '../lib/builds.js';
import { startChariot, startForkServer, startQuickjsServer, type ServerProcess } from '../lib/processes.js';
import type { Profile } from '../lib/profile.js';
import { TRIVIAL } from '../lib/programs.js';
import { residentMemory, type ResidentMemory } from '../lib/rss.js';

export const THROUGHPUT_TARGETS = ['chariotSync', 'chariotAsync', 'forkServer', 'quickjs', 'rawIsolate'] as const;
export type ThroughputTarget = (typeof THROUGHPUT_TARGETS)[number];

/** Ours divided by a baseline: above 1 means more requests/s, or a longer latency. */
export interface Comparison {
  readonly rps: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface ThroughputLevel {
  readonly concurrency: number;
  /** chariotAgainst: null without --against. */
  readonly targets: Readonly<Record<ThroughputTarget, LoadResult>> & { readonly chariotAgainst: LoadResult | null };
  readonly ratios: {
    /** vsAgainst: this checkout's build / the other one (null without --against). */
    readonly chariotSync: { readonly vsRawIsolate: Comparison; readonly vsForkServer: Comparison; readonly vsQuickjs: Comparison; readonly vsAgainst: Comparison | null };
    readonly chariotAsync: { readonly vsRawIsolate: Comparison; readonly vsForkServer: Comparison; readonly vsQuickjs: Comparison };
  };
}

/** The HTTP servers of the scenario (the raw isolate runs in the harness). */
export type ServerTarget = 'chariot' | 'chariotAgainst' | 'forkServer' | 'quickjs';

/** A server's resident memory over the scenario, in bytes; null where /proc cannot be read. */
export interface ServerMemory {
  readonly idleRssBytes: number;
  readonly peakRssBytes: number;
  readonly afterRssBytes: number;
  /** afterRssBytes / idleRssBytes. */
  readonly afterVsIdle: number;
}

export interface ThroughputResult {
  readonly program: string;
  readonly threads: number;
  readonly users: number;
  readonly serverEnv: Readonly<Record<string, string>>;
  /** The label of the other build measured as chariotAgainst ("chariot@<short commit>"), or null. */
  readonly against: string | null;
  readonly levels: readonly ThroughputLevel[];
  /** How long after the last level `memory[...].afterRssBytes` was read. */
  readonly afterMs: number;
  /** Each server's resident memory; chariotAgainst only with --against; null off Linux. */
  readonly memory: Partial<Record<ServerTarget, ServerMemory>> | null;
}

const USERS = 4;

export function compare(ours: LoadResult, base: LoadResult): Comparison {
  return { rps: ratio(ours.rps, base.rps), p50: ratio(ours.latency.p50Ms, base.latency.p50Ms), p99: ratio(ours.latency.p99Ms, base.latency.p99Ms) };
}

const mib = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

/** Every server's resident memory now; null if any cannot be read. */
function readAll(servers: ReadonlyMap<ServerTarget, ServerProcess>): Map<ServerTarget, ResidentMemory> | null {
  const read = new Map<ServerTarget, ResidentMemory>();
  for (const [target, server] of servers) {
    const memory = residentMemory(server.pid);
    if (memory === null) return null;
    read.set(target, memory);
  }
  return read;
}

function memoryOver(idle: Map<ServerTarget, ResidentMemory> | null, peak: Map<ServerTarget, ResidentMemory> | null, after: Map<ServerTarget, ResidentMemory> | null): Partial<Record<ServerTarget, ServerMemory>> | null {
  if (idle === null || peak === null || after === null) return null;
  const figures: Partial<Record<ServerTarget, ServerMemory>> = {};
  for (const [target, { rssBytes: idleRssBytes }] of idle) {
    const afterRssBytes = after.get(target)!.rssBytes;
    figures[target] = { idleRssBytes, peakRssBytes: peak.get(target)!.peakBytes, afterRssBytes, afterVsIdle: afterRssBytes / idleRssBytes };
  }
  return figures;
}

/** POST /api/execute of the trivial program, the users taken round-robin. */
function execute(http: HttpTarget, cookies: readonly string[]): Operation {
  return async (worker) => {
    const answer = await http.post('/api/execute', { program: TRIVIAL }, cookies[worker % USERS]!);
    if (answer.status !== 200) return String(answer.status);
    return answer.text.includes('"result":3') ? undefined : 'bad-result';
  };
}

/** The targets in the order measured at the level of this index: the two builds swap places. */
function order(index: number, against: boolean): (ThroughputTarget | 'chariotAgainst')[] {
  if (!against) return [...THROUGHPUT_TARGETS];
  const pair: (ThroughputTarget | 'chariotAgainst')[] = index % 2 === 0 ? ['chariotSync', 'chariotAgainst'] : ['chariotAgainst', 'chariotSync'];
  return [...pair, ...THROUGHPUT_TARGETS.filter((target) => target !== 'chariotSync')];
}

export async function runThroughput(profile: Profile, log: (line: string) => void, against: ChariotBuild | null = null): Promise<ThroughputResult> {
  const threads = availableParallelism();
  const users = benchUsers(USERS);
  const serverEnv = { CHARIOT_THREADS: String(threads), CHARIOT_USERS: users.env };
  const maxLevel = Math.max(...profile.throughput.levels);
  const servers: ServerProcess[] = [];
  const clients: HttpTarget[] = [];
  const named = new Map<ServerTarget, ServerProcess>();
  const raw = new RawIsolatePool(threads);
  // Everything started is closed in `finally`, also when a later server fails to start.
  const client = async (target: ServerTarget, starting: Promise<ServerProcess>): Promise<HttpTarget> => {
    const server = await starting;
    servers.push(server);
    named.set(target, server);
    const http = new HttpTarget(server.url, maxLevel);
    clients.push(http);
    return http;
  };
  try {
    const chariotHttp = await client('chariot', startChariot(serverEnv));
    const otherHttp = against === null ? null : await client('chariotAgainst', startChariot(serverEnv, { build: against }));
    const forkHttp = await client('forkServer', startForkServer({ FORK_USERS: users.env }));
    const quickjsHttp = await client('quickjs', startQuickjsServer({ QUICKJS_THREADS: String(threads), QUICKJS_USERS: users.env }));
    const chariotCookies = await loginUsers(chariotHttp, users.names);
    const againstOperation = otherHttp === null ? null : execute(otherHttp, await loginUsers(otherHttp, users.names));
    const operations: Record<ThroughputTarget, Operation> = {
      chariotSync: execute(chariotHttp, chariotCookies),
      async chariotAsync(worker) {
        const cookie = chariotCookies[worker % USERS]!;
        const submitted = await chariotHttp.post('/api/execute-async', { program: TRIVIAL }, cookie);
        if (submitted.status !== 200) return String(submitted.status);
        const id = (JSON.parse(submitted.text) as { execution_id: string }).execution_id;
        const stream = await chariotHttp.get(`/api/logs/${id}`, cookie);
        if (stream.status !== 200) return `logs-${stream.status}`;
        return stream.text.includes('event: done\ndata: {"status":"completed"}') ? undefined : 'bad-result';
      },
      forkServer: execute(forkHttp, await loginUsers(forkHttp, users.names)),
      quickjs: execute(quickjsHttp, await loginUsers(quickjsHttp, users.names)),
      async rawIsolate() {
        return (await raw.run({ kind: 'isolate', source: TRIVIAL })) === 3 ? undefined : 'bad-result';
      },
    };
    // Spares and the like, made in the servers' first idle moments, are part of idle.
    await sleep(1000);
    const idle = readAll(named);
    const levels: ThroughputLevel[] = [];
    for (const [index, concurrency] of profile.throughput.levels.entries()) {
      const { warmupMs, durationMs, rawDurationMs } = profile.throughput;
      const results = {} as Record<ThroughputTarget, LoadResult>;
      let againstResult: LoadResult | null = null;
      for (const target of order(index, againstOperation !== null)) {
        const duration = target === 'rawIsolate' ? rawDurationMs : durationMs;
        const operation = target === 'chariotAgainst' ? againstOperation! : operations[target];
        const r = await closedLoop(operation, { concurrency, warmupMs, durationMs: duration });
        if (target === 'chariotAgainst') againstResult = r;
        else results[target] = r;
        const name = target === 'chariotAgainst' ? against!.label : target;
        log(`  c=${concurrency} ${name.padEnd(14)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50Ms.toFixed(2)} ms  p99 ${r.latency.p99Ms.toFixed(2)} ms${Object.keys(r.failures).length > 0 ? `  failures ${JSON.stringify(r.failures)}` : ''}`);
      }
      levels.push({
        concurrency,
        targets: { ...results, chariotAgainst: againstResult },
        ratios: {
          chariotSync: {
            vsRawIsolate: compare(results.chariotSync, results.rawIsolate),
            vsForkServer: compare(results.chariotSync, results.forkServer),
            vsQuickjs: compare(results.chariotSync, results.quickjs),
            vsAgainst: againstResult === null ? null : compare(results.chariotSync, againstResult),
          },
          chariotAsync: {
            vsRawIsolate: compare(results.chariotAsync, results.rawIsolate),
            vsForkServer: compare(results.chariotAsync, results.forkServer),
            vsQuickjs: compare(results.chariotAsync, results.quickjs),
          },
        },
      });
    }
    const peak = readAll(named);
    log(`  waiting ${profile.throughput.afterMs / 1000} s for every server's memory after the load`);
    await sleep(profile.throughput.afterMs);
    const memory = memoryOver(idle, peak, readAll(named));
    for (const [target, figures] of Object.entries(memory ?? {})) {
      log(`  ${target.padEnd(14)} RSS idle ${mib(figures.idleRssBytes)} MiB, peak ${mib(figures.peakRssBytes)} MiB, ${profile.throughput.afterMs / 1000} s after ${mib(figures.afterRssBytes)} MiB (${figures.afterVsIdle.toFixed(2)}× idle)`);
    }
    return { program: TRIVIAL, threads, users: USERS, serverEnv: { CHARIOT_THREADS: String(threads), CHARIOT_USERS: `${USERS} users` }, against: against?.label ?? null, levels, afterMs: profile.throughput.afterMs, memory };
  } finally {
    await Promise.allSettled(clients.map((http) => http.close()));
    await Promise.allSettled([...servers.map((server) => server.close()), raw.close()]);
  }
}

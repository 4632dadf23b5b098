// Scenario 6: the server's memory, for this checkout's build and (--against) another's:
//   idle       after a warm-up of trivial executions and a pause (spares, if any, made by then)
//   spares     CHARIOT_SPARE_ISOLATES=0 and =`spares` against each other: RSS per idle spare
//              (per thread: each worker thread keeps its own); only for a build that reads the
//              variable (null otherwise), but always for this checkout's, which may ignore it
//   running    N executions of one user logging once, then awaiting a long sleep, all at once:
//              RSS per running execution, (with them − before them) / N; then they are cancelled
// Every server is a fresh process (resident memory a process took is not given back) with the
// same configuration: threads = cores, one user, CHARIOT_MAX_PER_USER and
// CHARIOT_TASKS_PER_THREAD raised so that all N run at once even on one thread. Each reading
// is the server's RSS and main-thread heap after a GC of its main thread (processes.ts).
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildReads, THIS_BUILD, type ChariotBuild } from '../lib/builds.js';
import { ratio } from '../lib/histogram.js';
import { benchUsers, HttpTarget, loginUsers } from '../lib/http.js';
import { forEachLimited } from '../lib/parallel.js';
import { startChariot, type MemorySample, type ServerProcess } from '../lib/processes.js';
import type { Profile } from '../lib/profile.js';
import { AWAITING, TRIVIAL } from '../lib/programs.js';

export interface SpareFigures {
  readonly none: MemorySample;
  /** With `perThread` spares per worker thread. */
  readonly more: MemorySample;
  /** (more − none) / (perThread × threads). */
  readonly rssPerSpareBytes: number;
  readonly heapPerSpareBytes: number;
  /** The idle reading (the build's default number of spares) − none. */
  readonly defaultVsNoneRssBytes: number;
}

export interface RunningFigures {
  readonly before: MemorySample;
  readonly during: MemorySample;
  readonly rssPerExecutionBytes: number;
  readonly heapPerExecutionBytes: number;
}

export interface MemoryRunningLevel {
  readonly executions: number;
  readonly chariot: RunningFigures;
  /** Null without --against. */
  readonly chariotAgainst: RunningFigures | null;
  /** RSS per execution, this build / the other (null without --against). */
  readonly rssPerExecutionVsAgainst: number | null;
}

export interface MemoryResult {
  /** The script of the running executions. */
  readonly program: string;
  readonly threads: number;
  /** Pause before each reading, for work done off the request path (spares) to be done. */
  readonly settleMs: number;
  readonly serverEnv: Readonly<Record<string, string>>;
  /** The label of the other build ("chariot@<short commit>"), or null. */
  readonly against: string | null;
  /** Whether each build's src/ or worker/ names CHARIOT_SPARE_ISOLATES (chariotAgainst: null without --against). */
  readonly readsSpareVariable: { readonly chariot: boolean; readonly chariotAgainst: boolean | null };
  /** The first running level's reading before its executions (the default configuration, warmed up). */
  readonly idle: { readonly chariot: MemorySample; readonly chariotAgainst: MemorySample | null; readonly rssVsAgainst: number | null };
  readonly spares: {
    readonly perThread: number;
    readonly chariot: SpareFigures;
    /** Null without --against, or when that build does not read CHARIOT_SPARE_ISOLATES. */
    readonly chariotAgainst: SpareFigures | null;
  };
  readonly running: readonly MemoryRunningLevel[];
}

const SPARE_VARIABLE = 'CHARIOT_SPARE_ISOLATES';
/** Requests in flight at once while submitting, polling and cancelling. */
const PARALLEL = 16;
const AWAITING_TIMEOUT_MS = 30_000;

interface Target {
  readonly build: ChariotBuild;
  readonly key: 'chariot' | 'chariotAgainst';
}

/** A fresh server of `build` with these variables, logged in and warmed up, until `use` ends. */
async function withServer<T>(build: ChariotBuild, env: Readonly<Record<string, string>>, profile: Profile, use: (server: ServerProcess, http: HttpTarget, cookie: string) => Promise<T>): Promise<T> {
  const server = await startChariot(env, { build });
  const http = new HttpTarget(server.url, PARALLEL);
  try {
    const [cookie] = await loginUsers(http, benchUsers(1).names);
    // The user's first isolates and the JIT of the paths involved, as in a running service.
    await forEachLimited(profile.memory.warmupExecutions, 2 * availableParallelism(), async () => {
      const answer = await http.post('/api/execute', { program: TRIVIAL }, cookie!);
      if (answer.status !== 200) throw new Error(`a warm-up execution answered ${answer.status}: ${answer.text}`);
    });
    return await use(server, http, cookie!);
  } finally {
    await http.close();
    await server.close();
  }
}

/** A reading after `settleMs`: the second of two, so that the first GC's leftovers are gone. */
async function settled(server: ServerProcess, settleMs: number): Promise<MemorySample> {
  await sleep(settleMs);
  await server.memory();
  return server.memory();
}

/** Submits `n` awaiting executions and resolves with their ids once each has logged (so awaits). */
async function holdRunning(http: HttpTarget, cookie: string, n: number): Promise<string[]> {
  const ids = await forEachLimited(n, PARALLEL, async () => {
    const answer = await http.post('/api/execute-async', { program: AWAITING }, cookie);
    if (answer.status !== 200) throw new Error(`execute-async answered ${answer.status}: ${answer.text}`);
    return (JSON.parse(answer.text) as { execution_id: string }).execution_id;
  });
  const deadline = Date.now() + AWAITING_TIMEOUT_MS;
  let waiting = ids;
  while (waiting.length > 0) {
    if (Date.now() > deadline) throw new Error(`${waiting.length} of ${n} executions had not logged within ${AWAITING_TIMEOUT_MS} ms`);
    const awaiting = await forEachLimited(waiting.length, PARALLEL, async (i) => {
      const answer = await http.get(`/api/result/${waiting[i]}`, cookie);
      const { status, logs } = JSON.parse(answer.text) as { status: string; logs?: unknown[] };
      if (status !== 'running' && status !== 'queued') throw new Error(`an awaiting execution ended early: ${answer.text}`);
      return status === 'running' && (logs?.length ?? 0) > 0;
    });
    waiting = waiting.filter((_, i) => !awaiting[i]);
    if (waiting.length > 0) await sleep(50);
  }
  return ids;
}

/** Cancels them; each answer comes once its execution has ended. */
async function cancelAll(http: HttpTarget, cookie: string, ids: readonly string[]): Promise<void> {
  await forEachLimited(ids.length, PARALLEL, async (i) => {
    const answer = await http.post(`/api/execution/${ids[i]}/cancel`, {}, cookie);
    if (answer.status !== 202) throw new Error(`cancel answered ${answer.status}: ${answer.text}`);
  });
}

function perUnit(a: MemorySample, b: MemorySample, units: number): { rss: number; heap: number } {
  return { rss: Math.round((a.rssBytes - b.rssBytes) / units), heap: Math.round((a.heapUsedBytes - b.heapUsedBytes) / units) };
}

async function running(target: Target, env: Readonly<Record<string, string>>, profile: Profile, n: number): Promise<RunningFigures> {
  return withServer(target.build, env, profile, async (server, http, cookie) => {
    const before = await settled(server, profile.memory.settleMs);
    const ids = await holdRunning(http, cookie, n);
    try {
      const during = await settled(server, profile.memory.settleMs);
      const per = perUnit(during, before, n);
      return { before, during, rssPerExecutionBytes: per.rss, heapPerExecutionBytes: per.heap };
    } finally {
      await cancelAll(http, cookie, ids);
    }
  });
}

async function idleWithSpares(target: Target, env: Readonly<Record<string, string>>, profile: Profile, spares: number): Promise<MemorySample> {
  return withServer(target.build, { ...env, [SPARE_VARIABLE]: String(spares) }, profile, (server) => settled(server, profile.memory.settleMs));
}

async function spareFigures(target: Target, env: Readonly<Record<string, string>>, profile: Profile, idle: MemorySample, threads: number): Promise<SpareFigures> {
  const perThread = profile.memory.spares;
  const none = await idleWithSpares(target, env, profile, 0);
  const more = await idleWithSpares(target, env, profile, perThread);
  const per = perUnit(more, none, perThread * threads);
  return { none, more, rssPerSpareBytes: per.rss, heapPerSpareBytes: per.heap, defaultVsNoneRssBytes: idle.rssBytes - none.rssBytes };
}

const MIB = 1024 * 1024;
const mib = (bytes: number, decimals = 1): string => (bytes / MIB).toFixed(decimals);

export async function runMemory(profile: Profile, log: (line: string) => void, against: ChariotBuild | null = null): Promise<MemoryResult> {
  const threads = availableParallelism();
  const most = Math.max(...profile.memory.running);
  const users = benchUsers(1);
  const limits = { CHARIOT_MAX_PER_USER: String(Math.max(64, most)), CHARIOT_TASKS_PER_THREAD: String(Math.max(64, most)) };
  const env = { CHARIOT_THREADS: String(threads), CHARIOT_USERS: users.env, ...limits };
  const targets: Target[] = [{ build: THIS_BUILD, key: 'chariot' }, ...(against === null ? [] : [{ build: against, key: 'chariotAgainst' } as const])];
  const reads = { chariot: await buildReads(THIS_BUILD, SPARE_VARIABLE), chariotAgainst: against === null ? null : await buildReads(against, SPARE_VARIABLE) };

  const levels: MemoryRunningLevel[] = [];
  for (const [index, n] of profile.memory.running.entries()) {
    const found: Partial<Record<Target['key'], RunningFigures>> = {};
    // The two builds swap places from one level to the next, as in scenario 1.
    for (const target of index % 2 === 0 ? targets : [...targets].reverse()) {
      const figures = await running(target, env, profile, n);
      found[target.key] = figures;
      log(`  ${String(n).padStart(4)} running  ${target.build.label.padEnd(16)} RSS ${mib(figures.before.rssBytes)} → ${mib(figures.during.rssBytes)} MiB: ${mib(figures.rssPerExecutionBytes, 2)} MiB per execution`);
    }
    const ours = found.chariot!;
    const theirs = found.chariotAgainst ?? null;
    levels.push({ executions: n, chariot: ours, chariotAgainst: theirs, rssPerExecutionVsAgainst: theirs === null ? null : ratio(ours.rssPerExecutionBytes, theirs.rssPerExecutionBytes) });
  }
  const idleOf = (key: Target['key']): MemorySample | null => levels[0]?.[key]?.before ?? null;

  const spares: Partial<Record<Target['key'], SpareFigures>> = {};
  for (const target of targets) {
    if (target.key !== 'chariot' && reads[target.key] !== true) continue;
    const figures = await spareFigures(target, env, profile, idleOf(target.key)!, threads);
    spares[target.key] = figures;
    const ignored = reads[target.key] ? '' : ` (this build does not read ${SPARE_VARIABLE}: noise)`;
    log(`  spares   ${target.build.label.padEnd(16)} RSS ${mib(figures.none.rssBytes)} MiB with 0, ${mib(figures.more.rssBytes)} MiB with ${profile.memory.spares} per thread: ${mib(figures.rssPerSpareBytes, 2)} MiB per spare${ignored}`);
  }

  const idle = { chariot: idleOf('chariot')!, chariotAgainst: idleOf('chariotAgainst') };
  return {
    program: AWAITING,
    threads,
    settleMs: profile.memory.settleMs,
    serverEnv: { CHARIOT_THREADS: String(threads), CHARIOT_USERS: '1 user', ...limits, [SPARE_VARIABLE]: `unset; 0 and ${profile.memory.spares} for the spares` },
    against: against?.label ?? null,
    readsSpareVariable: reads,
    idle: { ...idle, rssVsAgainst: idle.chariotAgainst === null ? null : ratio(idle.chariot.rssBytes, idle.chariotAgainst.rssBytes) },
    spares: { perThread: profile.memory.spares, chariot: spares.chariot!, chariotAgainst: spares.chariotAgainst ?? null },
    running: levels,
  };
}

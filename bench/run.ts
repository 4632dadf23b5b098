// `npm run bench`: the load-benchmarking harness. Starts chariot-exec (and the baselines) on
// ephemeral ports, runs the seven scenarios one after the other, prints one table per
// scenario, and writes bench/results/<timestamp>.json (every figure, and the machine),
// <timestamp>.txt (the tables) and <timestamp>.svg (the chart).
//
//   npm run bench                      quick profile, under 3 minutes on 2 cores
//   npm run bench -- --full            longer runs, more levels
//   npm run bench -- --profile tiny    a few seconds: checks that the harness works (the smoke test)
//   --out DIR                          where to write the files (default bench/results)
//   --only throughput,fanOut           run some scenarios only (the others are null in the JSON)
//   --against <git-ref>                also measure that commit's build (a temporary git worktree,
//                                      lib/builds.ts) in scenarios 1 and 6, beside this checkout's
//
// The load generator and the subscribers run in this process; each server under test runs
// in a child process of its own (lib/processes.ts); the raw-isolate baseline runs in worker
// threads of this process. Scenarios run one at a time, so nothing here measures two things at once.
// The --against worktree is removed at the end, also when the run fails.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareAgainst, type AgainstBuild } from './lib/builds.js';
import { renderChart } from './lib/chart.js';
import { describeMachine } from './lib/machine.js';
import { profileNamed, type Profile } from './lib/profile.js';
import { report } from './lib/report.js';
import type { BenchResult } from './lib/result.js';
import { runAdmission } from './scenarios/admission.js';
import { runCpuScaling } from './scenarios/cpu-scaling.js';
import { runFanOut } from './scenarios/fan-out.js';
import { runLogLatency } from './scenarios/log-latency.js';
import { runMemory } from './scenarios/memory.js';
import { runRedisMode } from './scenarios/redis.js';
import { runThroughput } from './scenarios/throughput.js';

const SCENARIOS = ['throughput', 'logLatency', 'fanOut', 'cpuScaling', 'admission', 'memory', 'redis'] as const;
/** The scenarios that measure the --against build too. */
const AGAINST_SCENARIOS: readonly Scenario[] = ['throughput', 'memory'];
type Scenario = (typeof SCENARIOS)[number];

const DEFAULT_OUT = fileURLToPath(new URL('../../bench/results/', import.meta.url));

interface Options {
  readonly profile: Profile;
  readonly out: string;
  readonly only: ReadonlySet<Scenario>;
  readonly against: string | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'quick' },
      full: { type: 'boolean', default: false },
      out: { type: 'string', default: DEFAULT_OUT },
      only: { type: 'string' },
      against: { type: 'string' },
    },
  });
  if (values.against !== undefined && values.against.trim() === '') throw new Error('--against needs a git ref (a commit, branch or tag)');
  const only = new Set<Scenario>();
  for (const name of values.only?.split(',') ?? SCENARIOS) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only: unknown scenario "${name}" (${SCENARIOS.join(', ')})`);
    only.add(name as Scenario);
  }
  return { profile: profileNamed(values.full ? 'full' : values.profile), out: values.out, only, against: values.against };
}

/** 2026-11-24T20:45:05.123Z → 2026-11-24T20-45-05Z: a file name on every system. */
function stamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

async function main(): Promise<void> {
  const chosen = options();
  const started = new Date();
  const log = (line: string): void => console.log(line);
  let against: AgainstBuild | null = null;
  if (chosen.against !== undefined) {
    if (AGAINST_SCENARIOS.some((name) => chosen.only.has(name))) against = await prepareAgainst(chosen.against, log);
    else log(`--against ${chosen.against}: ignored, only ${AGAINST_SCENARIOS.join(' and ')} measure another build`);
  }
  try {
    await measure(chosen, started, against, log);
  } finally {
    await against?.close();
  }
}

async function measure({ profile, out, only }: Options, started: Date, against: AgainstBuild | null, log: (line: string) => void): Promise<void> {
  const machine = describeMachine();
  log(`chariot-exec bench, profile ${profile.name}: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAverageAtStart}${against ? `; against ${against.label} (${against.ref})` : ''}`);

  async function scenario<T>(name: Scenario, title: string, run: () => Promise<T>): Promise<T | null> {
    if (!only.has(name)) return null;
    log(`\n${title}`);
    const start = Date.now();
    const value = await run();
    log(`  (${((Date.now() - start) / 1000).toFixed(1)} s)`);
    return value;
  }

  const throughput = await scenario('throughput', '1. Throughput and latency of trivial executions', () => runThroughput(profile, log, against));
  const logLatency = await scenario('logLatency', '2. Log latency', () => runLogLatency(profile, log));
  const fanOut = await scenario('fanOut', '3. Fan-out', () => runFanOut(profile, machine, log));
  const cpuScaling = await scenario('cpuScaling', '4. CPU-heavy scaling', () => runCpuScaling(profile, log));
  const admission = await scenario('admission', '5. Admission under overload', () => runAdmission(profile, log));
  const memory = await scenario('memory', '6. Memory per idle spare and per running execution', () => runMemory(profile, log, against));
  const redis = await scenario('redis', '7. Redis mode beside memory', () => runRedisMode(profile, log));

  const finished = new Date();
  const base = stamp(started);
  const result: BenchResult = {
    schemaVersion: 6,
    profile: profile.name,
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationS: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
    machine,
    setup: 'load generator and SSE and WebSocket subscribers in the harness process; chariot-exec, the fork-per-execution server and the QuickJS server each in a child process; in scenario 7 two chariot-exec instances on one redis-server started by the harness; raw-isolate baseline in worker threads of the harness process; scenarios run one at a time'
      + (against ? `; ${against.label}, built in a temporary git worktree, in a child process of its own beside this checkout's chariot-exec` : ''),
    against: against && { ref: against.ref, commit: against.commit, label: against.label, nodeModules: against.nodeModules, prepareS: against.prepareS },
    throughput,
    logLatency,
    fanOut,
    cpuScaling,
    admission,
    memory,
    redis,
    files: { table: `${base}.txt`, chart: throughput || cpuScaling || memory ? `${base}.svg` : null },
  };
  const text = report(result);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, `${base}.json`), JSON.stringify(result, null, 2) + '\n');
  await writeFile(join(out, result.files.table), text);
  if (result.files.chart !== null) await writeFile(join(out, result.files.chart), await renderChart(result));
  log(`\n${text}`);
  log(`Written: ${join(out, `${base}.json`)} (${result.durationS} s)`);
}

await main();

// `npm run bench:permission`: what Node's permission model costs the service, measured in the
// same run. Two chariot-exec servers in child processes with the same configuration, one
// started with the node flags of `npm start` (read from package.json: --permission and its
// grants) and one with `--no-node-snapshot` alone:
//   start-up   fork → listening, each started and closed `starts` times, alternately (median)
//   trivial    `1+2` through POST /api/execute, closed loop at the profile's throughput levels,
//              after a warm-up of both; at each level both servers in turn, the order swapped
//              from one level to the next
// Reported: the figures of each and the ratio permission / plain (above 1: more requests/s,
// or a longer time). Usage: npm run bench:permission [-- --profile tiny|quick|full] [--starts N]
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ratio, round } from './lib/histogram.js';
import { benchUsers, HttpTarget, loginUsers } from './lib/http.js';
import { closedLoop, type LoadResult } from './lib/load.js';
import { describeMachine } from './lib/machine.js';
import { startChariot, type ServerProcess } from './lib/processes.js';
import { profileNamed } from './lib/profile.js';
import { TRIVIAL } from './lib/programs.js';
import { table, times } from './lib/table.js';
import { npmStartFlags } from '../test/helpers/npm-start.js';

const MODES = ['plain', 'permission'] as const;
type Mode = (typeof MODES)[number];
const USERS = 4;

function options(): { profile: ReturnType<typeof profileNamed>; starts: number } {
  const { values } = parseArgs({ options: { profile: { type: 'string', default: 'quick' }, starts: { type: 'string', default: '5' } } });
  const starts = Number(values.starts);
  if (!Number.isInteger(starts) || starts < 1) throw new Error('--starts must be a positive whole number');
  return { profile: profileNamed(values.profile), starts };
}

function start(mode: Mode, env: Readonly<Record<string, string>>): Promise<ServerProcess> {
  return startChariot(env, { permission: mode === 'permission' });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Milliseconds from fork to the server's 'ready' (it listens), `starts` times per mode, alternately. */
async function startUps(env: Readonly<Record<string, string>>, starts: number): Promise<Record<Mode, number[]>> {
  const found: Record<Mode, number[]> = { plain: [], permission: [] };
  for (let i = 0; i < starts; i++) {
    for (const mode of i % 2 === 0 ? MODES : [...MODES].reverse()) {
      const began = performance.now();
      const server = await start(mode, env);
      found[mode].push(performance.now() - began);
      await server.close();
    }
  }
  return found;
}

async function main(): Promise<void> {
  const { profile, starts } = options();
  const machine = describeMachine();
  console.log(`chariot-exec permission bench, profile ${profile.name}: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAverageAtStart}`);
  console.log(`npm start's flags: ${npmStartFlags().join(' ')}`);
  const users = benchUsers(USERS);
  const env = { CHARIOT_THREADS: String(availableParallelism()), CHARIOT_USERS: users.env };

  const startUp = await startUps(env, starts);
  const servers = { plain: await start('plain', env), permission: await start('permission', env) };
  const maxLevel = Math.max(...profile.throughput.levels);
  const http = { plain: new HttpTarget(servers.plain.url, maxLevel), permission: new HttpTarget(servers.permission.url, maxLevel) };
  const levels: Array<{ concurrency: number; results: Record<Mode, LoadResult> }> = [];
  try {
    const cookies = { plain: await loginUsers(http.plain, users.names), permission: await loginUsers(http.permission, users.names) };
    const execute = (mode: Mode) => async (worker: number): Promise<string | undefined> => {
      const answer = await http[mode].post('/api/execute', { program: TRIVIAL }, cookies[mode][worker % USERS]!);
      if (answer.status !== 200) return String(answer.status);
      return answer.text.includes('"result":3') ? undefined : 'bad-result';
    };
    // Each user's first isolate in each thread, and the JIT of the paths involved, before the
    // first level: otherwise the first level measures them, and only for the server measured first.
    for (const mode of MODES) await closedLoop(execute(mode), { concurrency: maxLevel, warmupMs: 0, durationMs: profile.throughput.warmupMs * 2 });
    for (const [index, concurrency] of profile.throughput.levels.entries()) {
      const results = {} as Record<Mode, LoadResult>;
      for (const mode of index % 2 === 0 ? MODES : [...MODES].reverse()) {
        results[mode] = await closedLoop(execute(mode), { concurrency, warmupMs: profile.throughput.warmupMs, durationMs: profile.throughput.durationMs });
        const r = results[mode];
        console.log(`  c=${concurrency} ${mode.padEnd(10)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50Ms.toFixed(2)} ms  p99 ${r.latency.p99Ms.toFixed(2)} ms`);
      }
      levels.push({ concurrency, results });
    }
  } finally {
    await Promise.allSettled([http.plain.close(), http.permission.close()]);
    await Promise.allSettled([servers.plain.close(), servers.permission.close()]);
  }

  const startRow = (mode: Mode): (string | number)[] => [mode, round(median(startUp[mode]), 1), round(Math.min(...startUp[mode]), 1), round(Math.max(...startUp[mode]), 1)];
  console.log(`\nStart-up, fork → listening, ms (${starts} starts each, ${env.CHARIOT_THREADS} threads)`);
  console.log(table(['server', 'median', 'min', 'max'], [startRow('plain'), startRow('permission')]));
  console.log(`permission / plain, median: ${times(ratio(median(startUp.permission), median(startUp.plain)))}`);

  console.log(`\nTrivial executions (\`${TRIVIAL}\`, POST /api/execute), closed loop; latency in ms; ratio permission / plain`);
  console.log(table(['concurrency', 'server', 'req/s', 'p50', 'p99', 'failed', 'req/s ratio', 'p50 ratio', 'p99 ratio'], levels.flatMap(({ concurrency, results }) => MODES.map((mode) => {
    const r = results[mode];
    const failed = Object.values(r.failures).reduce((sum, n) => sum + n, 0);
    const versus = mode === 'permission' ? results.plain : undefined;
    return [String(concurrency), mode, r.rps, r.latency.p50Ms, r.latency.p99Ms, failed,
      versus ? times(ratio(r.rps, versus.rps)) : '', versus ? times(ratio(r.latency.p50Ms, versus.latency.p50Ms)) : '', versus ? times(ratio(r.latency.p99Ms, versus.latency.p99Ms)) : ''];
  }))));
}

await main();

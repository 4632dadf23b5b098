// Where one trivial run's time goes (issue 14, point 1): chariot-exec, with its defaults, under
// `node --cpu-prof` (one profile per thread), runs `1+2` through POST /api/execute one request
// at a time, after a warm-up; then each thread's busy time per execution and its largest
// costs, by area and by function, are printed and written to bench/results/<time>-profile.txt.
//
//   npm run bench:profile                  5,000 runs after 500 of warm-up
//   npm run bench:profile -- --runs 20000
//
// The warm-up is in the profiles too (a profile covers its thread's whole life): the figures
// per execution divide by every run. See bench/lib/cpu-profile.ts for what a sample means.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readProfiles, type ThreadProfile } from './lib/cpu-profile.js';
import { benchUsers, HttpTarget, loginUsers } from './lib/http.js';
import { startChariot } from './lib/processes.js';
import { TRIVIAL } from './lib/programs.js';

const WARM_UP = 500;
const AREAS = 12;
const FUNCTIONS = 15;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive whole number`);
  return value;
}

function lines(profile: ThreadProfile, executions: number): string[] {
  const share = (ms: number): string => `${((ms / profile.busyMs) * 100).toFixed(1).padStart(5)} %  ${((ms / executions) * 1000).toFixed(1).padStart(7)} µs`;
  return [
    `${profile.thread}: busy ${(profile.busyMs / 1000).toFixed(2)} s of ${(profile.totalMs / 1000).toFixed(2)} s sampled, `
      + `${((profile.busyMs / executions) * 1000).toFixed(0)} µs per execution`,
    '  by area (share of busy time, per execution):',
    ...profile.areas.slice(0, AREAS).map(([name, ms]) => `    ${share(ms)}  ${name}`),
    '  by function (self time):',
    ...profile.functions.slice(0, FUNCTIONS).map(([name, ms]) => `    ${share(ms)}  ${name}`),
  ];
}

const runs = option('--runs', 5000);
const dir = mkdtempSync(join(tmpdir(), 'chariot-profile-'));
const users = benchUsers(1);
const server = await startChariot({ CHARIOT_USERS: users.env }, { flags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
const http = new HttpTarget(server.url, 1);
const [cookie] = await loginUsers(http, users.names);
const started = performance.now();
for (let i = 0; i < WARM_UP + runs; i++) {
  const answer = await http.post('/api/execute', { program: TRIVIAL }, cookie!);
  if (answer.status !== 200 || !answer.text.includes('"result":3')) throw new Error(`run ${i}: ${answer.status} ${answer.text}`);
}
const elapsed = performance.now() - started;
await http.close();
// The profiles are written as each thread stops.
await server.close();
const executions = WARM_UP + runs;
const report = [
  `chariot-exec, ${executions} sequential runs of ${TRIVIAL} (${WARM_UP} of them warm-up) in ${(elapsed / 1000).toFixed(1)} s: `
    + `${((elapsed / executions) * 1000).toFixed(0)} µs each, on ${process.version}`,
  '',
  ...readProfiles(dir).flatMap((profile) => [...lines(profile, executions), '']),
].join('\n');
rmSync(dir, { recursive: true, force: true });
console.log(report);
const out = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(out, { recursive: true });
const file = join(out, `${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}Z-profile.txt`);
writeFileSync(file, `${report}\n`);
console.log(`Written: ${file}`);

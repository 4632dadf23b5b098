// The child process of healthz-probe.ts: samples GET /healthz one at a time on a keep-alive
// connection of its own, after one unrecorded warm-up request, until the parent sends 'stop';
// then reports and exits.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpTarget } from './http.js';
import type { ProbeArgs, ProbeReport } from './healthz-probe.js';

const { url, everyMs } = JSON.parse(process.argv[2] ?? '{}') as ProbeArgs;
const http = new HttpTarget(url, 1);
let stopping = false;
process.on('message', () => (stopping = true));
process.on('disconnect', () => process.exit(1));
// One request first, not recorded: it opens the connection and compiles this loop's path.
await http.get('/healthz').catch(() => undefined);
process.send?.('started');

const latenciesMs: number[] = [];
let failures = 0;
let maxRunning = 0;
let maxQueued = 0;
while (!stopping) {
  const start = performance.now();
  try {
    const answer = await http.get('/healthz');
    if (answer.status === 200) {
      latenciesMs.push(performance.now() - start);
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
await http.close();
const report: ProbeReport = { latenciesMs, failures, maxRunning, maxQueued };
process.send?.(report, () => process.disconnect());

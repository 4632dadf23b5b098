// The /healthz sampler of scenario 5, in a child process of its own (healthz-probe-process.ts).
// In the harness's own event loop a sample also waited for the load generator (a thousand
// requests a second and their answers) and for its collections, so the figure was partly the
// harness's; here it is the server's and the machine's.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { LatencyRecorder, type LatencySummary } from './histogram.js';

export interface HealthzSamples {
  readonly latency: LatencySummary;
  /** Samples that did not answer 200. */
  readonly failures: number;
  /** The most executions the server itself reported running / queued in one sample. */
  readonly maxRunning: number;
  readonly maxQueued: number;
}

/** What the probe process reports when told to stop: each sample's latency in ms. */
export interface ProbeReport {
  readonly latenciesMs: readonly number[];
  readonly failures: number;
  readonly maxRunning: number;
  readonly maxQueued: number;
}

/** The probe's command line: the URL to sample and the interval. */
export interface ProbeArgs {
  readonly url: string;
  readonly everyMs: number;
}

const PROBE = fileURLToPath(new URL('./healthz-probe-process.js', import.meta.url));
const START_TIMEOUT_MS = 10_000;

export interface HealthzProbe {
  /** Stops sampling and returns the samples taken since start. */
  stop(): Promise<HealthzSamples>;
}

/** Starts sampling GET `url`/healthz every `everyMs` (one at a time) in a child process. */
export async function startHealthzProbe(url: string, everyMs: number): Promise<HealthzProbe> {
  const args: ProbeArgs = { url, everyMs };
  const child = fork(PROBE, [JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const started = once(child, 'message');
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  try {
    await Promise.race([started, once(child, 'exit').then(() => Promise.reject(new Error('the /healthz probe exited before it started')))]);
  } finally {
    clearTimeout(timer);
  }
  return {
    async stop() {
      const answer = once(child, 'message') as Promise<[ProbeReport]>;
      child.send('stop');
      const [report] = await answer;
      await once(child, 'exit');
      const recorder = new LatencyRecorder();
      for (const ms of report.latenciesMs) recorder.record(ms);
      return { latency: recorder.summary(), failures: report.failures, maxRunning: report.maxRunning, maxQueued: report.maxQueued };
    },
  };
}

// Load generators. Both run in the harness process, against a server in another process.
//
// closedLoop: `concurrency` workers, each sending its next request when the previous one
// answered (the usual "N concurrent users" model): throughput and latency at that
// concurrency. A warm-up runs first and is not recorded; then only requests started in the
// measured window count, and the window ends when the last of them answered.
//
// openLoop: requests started at a fixed rate whatever the answers (offered load), for the
// overload scenario, where a closed loop would slow down with the server and hide it.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyRecorder, round, type LatencySummary } from './histogram.js';

/** One request: resolves with undefined when it succeeded, or a label saying how it failed. */
export type Operation = (worker: number) => Promise<string | undefined>;

export interface LoadResult {
  readonly concurrency: number;
  /** Requests that succeeded in the measured window. */
  readonly ok: number;
  /** Failed requests by label (status code, "bad-result", an error code); {} when none. */
  readonly failures: Readonly<Record<string, number>>;
  readonly durationS: number;
  /** Successful requests per second. */
  readonly rps: number;
  /** Latency of the successful requests. */
  readonly latency: LatencySummary;
}

export interface ClosedLoopOptions {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

function label(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'error';
}

function count(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export async function closedLoop(op: Operation, options: ClosedLoopOptions): Promise<LoadResult> {
  const recorder = new LatencyRecorder();
  const failures: Record<string, number> = {};
  let phase: 'warmup' | 'measure' | 'stop' = 'warmup';
  let windowStart = 0;
  let lastEnd = 0;

  const worker = async (index: number): Promise<void> => {
    while (phase !== 'stop') {
      const measured = phase === 'measure';
      const start = performance.now();
      let failure: string | undefined;
      try {
        failure = await op(index);
      } catch (error) {
        failure = label(error);
      }
      const end = performance.now();
      if (!measured) continue;
      lastEnd = Math.max(lastEnd, end);
      if (failure === undefined) recorder.record(end - start);
      else count(failures, failure);
    }
  };

  const workers = Array.from({ length: options.concurrency }, (_, index) => worker(index));
  await sleep(options.warmupMs);
  phase = 'measure';
  windowStart = performance.now();
  await sleep(options.durationMs);
  phase = 'stop';
  await Promise.all(workers);
  const durationS = Math.max(lastEnd - windowStart, 1) / 1000;
  return {
    concurrency: options.concurrency,
    ok: recorder.count,
    failures,
    durationS: round(durationS),
    rps: round(recorder.count / durationS, 1),
    latency: recorder.summary(),
  };
}

/** One outcome class of an open loop: how many, and how long they took. */
export interface OutcomeStats {
  readonly count: number;
  readonly latency: LatencySummary;
}

export interface OpenLoopResult {
  readonly offeredRps: number;
  readonly sent: number;
  /** Requests not sent because `maxInFlight` were already waiting (the client's limit). */
  readonly notSent: number;
  readonly durationS: number;
  /** By the label the operation returned (e.g. "200", "429", "503"). */
  readonly outcomes: Readonly<Record<string, OutcomeStats>>;
}

export interface OpenLoopOptions {
  readonly ratePerS: number;
  readonly durationMs: number;
  readonly maxInFlight: number;
}

/** Starts requests at `ratePerS` for `durationMs`; `op` resolves with the outcome's label. */
export async function openLoop(op: (index: number) => Promise<string>, options: OpenLoopOptions): Promise<OpenLoopResult> {
  const recorders = new Map<string, LatencyRecorder>();
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let notSent = 0;
  const start = performance.now();
  const end = start + options.durationMs;

  const launch = (index: number): void => {
    const began = performance.now();
    const request = op(index)
      .catch((error: unknown) => `error:${label(error)}`)
      .then((outcome) => {
        let recorder = recorders.get(outcome);
        if (recorder === undefined) recorders.set(outcome, (recorder = new LatencyRecorder()));
        recorder.record(performance.now() - began);
        pending.delete(request);
      });
    pending.add(request);
  };

  let due = 0;
  for (let now = start; now < end; now = performance.now()) {
    const target = Math.floor(((now - start) / 1000) * options.ratePerS);
    while (due < target) {
      if (pending.size >= options.maxInFlight) notSent++;
      else launch(sent++);
      due++;
    }
    // About a millisecond between bursts: at 1,000 requests/s, one or two at a time.
    await sleep(1);
  }
  await Promise.all(pending);
  const outcomes: Record<string, OutcomeStats> = {};
  for (const [outcome, recorder] of recorders) outcomes[outcome] = { count: recorder.count, latency: recorder.summary() };
  return {
    offeredRps: options.ratePerS,
    sent,
    notSent,
    durationS: round((performance.now() - start) / 1000),
    outcomes,
  };
}

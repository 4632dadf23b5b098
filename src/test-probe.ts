// Test seam (CHARIOT_TEST_PROBE=1, refused under NODE_ENV=production; loaded by main.ts only
// then): lets the process that spawned this server ask, over the IPC channel it opened, what
// every thread of the server gets when it tries what the permission model must refuse
// (worker/probe.ts), or how many isolates each worker holds by role. Nothing here is reachable
// over HTTP or from a script.
//
//   parent ──IPC { kind: 'probe' | 'census' }──► main thread ──probe channel──► every worker
//   parent ◄─IPC { kind: 'probe-answer' | 'census-answer', threads }─┘ ◄── '…-result' ──┘
import { BroadcastChannel } from 'node:worker_threads';
import { attemptForbidden } from '../worker/probe.js';
import type { IsolateCensus, ProbeAttempts, ProbeMessage } from '../worker/protocol.js';

/** From the parent process. */
export interface ProbeRequest {
  readonly kind: 'probe' | 'census';
}

/** To the parent process: the main thread's attempts first, then each worker's. */
export interface ProbeAnswer {
  readonly kind: 'probe-answer';
  readonly threads: ReadonlyArray<{ readonly thread: 'main' | number; readonly attempts: ProbeAttempts }>;
}

/** To the parent process: the main thread's collections after load, and each worker's isolates by role. */
export interface CensusAnswer {
  readonly kind: 'census-answer';
  readonly main: { readonly collections: number };
  readonly threads: ReadonlyArray<{ readonly thread: number; readonly isolates: IsolateCensus }>;
}

/** Tells the probe, once the server runs, how many collections after load the main thread made. */
export type MainCensus = (collections: () => number) => void;

type WorkerResult = Extract<ProbeMessage, { kind: 'probe-result' | 'census-result' }>;

/**
 * Answers probe and census requests on this process's IPC channel. Call before the pool starts,
 * so that no worker's 'probe-ready' is missed; a request waits until all `threads` workers listen.
 */
export function answerProbes(channelName: string, threads: number): MainCensus {
  let mainCollections = (): number => 0;
  const reportMain: MainCensus = (collections) => {
    mainCollections = collections;
  };
  if (process.send === undefined) {
    console.error('chariot-exec: CHARIOT_TEST_PROBE is set, but this process has no IPC channel to answer on');
    return reportMain;
  }
  const channel = new BroadcastChannel(channelName);
  channel.unref();
  const listening = new Set<number>();
  let nextId = 1;
  // Wakes whoever waits for a message on the channel.
  let onMessage: ((message: ProbeMessage) => void) | undefined;
  channel.onmessage = (event) => {
    const message = (event as { data: ProbeMessage }).data;
    if (message.kind === 'probe-ready') listening.add(message.threadId);
    onMessage?.(message);
  };

  /** One request at a time (the parent waits for each answer): every worker's result, by thread. */
  const askWorkers = <K extends WorkerResult['kind']>(kind: 'probe' | 'census', answerKind: K): Promise<Map<number, Extract<WorkerResult, { kind: K }>>> => new Promise((resolve) => {
    const id = nextId++;
    const answers = new Map<number, Extract<WorkerResult, { kind: K }>>();
    let asked = false;
    const askOnceAllListen = (): void => {
      if (asked || listening.size < threads) return;
      asked = true;
      channel.postMessage({ kind, id } satisfies ProbeMessage);
    };
    onMessage = (message) => {
      if (message.kind === 'probe-ready') return askOnceAllListen();
      if (message.kind !== answerKind || (message as WorkerResult).id !== id) return;
      const result = message as Extract<WorkerResult, { kind: K }>;
      answers.set(result.threadId, result);
      if (answers.size < threads) return;
      onMessage = undefined;
      resolve(answers);
    };
    askOnceAllListen();
  });

  process.on('message', (request: ProbeRequest) => {
    if (request.kind === 'probe') {
      const main = attemptForbidden();
      void askWorkers('probe', 'probe-result').then((workers) => {
        const answer: ProbeAnswer = { kind: 'probe-answer', threads: [{ thread: 'main', attempts: main }, ...[...workers].map(([thread, { attempts }]) => ({ thread, attempts }))] };
        process.send!(answer);
      });
    }
    if (request.kind === 'census') {
      void askWorkers('census', 'census-result').then((workers) => {
        const answer: CensusAnswer = { kind: 'census-answer', main: { collections: mainCollections() }, threads: [...workers].map(([thread, { isolates }]) => ({ thread, isolates })) };
        process.send!(answer);
      });
    }
  });
  return reportMain;
}

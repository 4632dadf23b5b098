// Test seam (CHARIOT_TEST_PROBE=1, refused under NODE_ENV=production; loaded by main.ts only
// then): lets the process that spawned this server ask, over the IPC channel it opened, what
// every thread of the server gets when it tries what the permission model must refuse
// (worker/probe.ts). Nothing here is reachable over HTTP or from a script.
//
//   parent ──IPC { kind: 'probe' }──► main thread ──probe channel: 'probe'──► every worker
//   parent ◄─IPC { kind: 'probe-answer', threads }─┘ ◄── 'probe-result' ──────┘
import { BroadcastChannel } from 'node:worker_threads';
import { attemptForbidden } from '../worker/probe.js';
import type { ProbeAttempts, ProbeMessage } from '../worker/protocol.js';

/** From the parent process. */
export interface ProbeRequest {
  readonly kind: 'probe';
}

/** To the parent process: the main thread's attempts first, then each worker's. */
export interface ProbeAnswer {
  readonly kind: 'probe-answer';
  readonly threads: ReadonlyArray<{ readonly thread: 'main' | number; readonly attempts: ProbeAttempts }>;
}

/**
 * Answers probe requests on this process's IPC channel. Call before the pool starts, so that no
 * worker's 'probe-ready' is missed; a probe waits until all `threads` workers are listening.
 */
export function answerProbes(channelName: string, threads: number): void {
  if (process.send === undefined) {
    console.error('chariot-exec: CHARIOT_TEST_PROBE is set, but this process has no IPC channel to answer on');
    return;
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

  /** One probe at a time (the parent waits for each answer). */
  const probeWorkers = (): Promise<ProbeAnswer['threads']> => new Promise((resolve) => {
    const id = nextId++;
    const answers = new Map<number, ProbeAttempts>();
    let asked = false;
    const askOnceAllListen = (): void => {
      if (asked || listening.size < threads) return;
      asked = true;
      channel.postMessage({ kind: 'probe', id } satisfies ProbeMessage);
    };
    onMessage = (message) => {
      if (message.kind === 'probe-ready') return askOnceAllListen();
      if (message.kind !== 'probe-result' || message.id !== id) return;
      answers.set(message.threadId, message.attempts);
      if (answers.size < threads) return;
      onMessage = undefined;
      resolve([...answers].map(([thread, attempts]) => ({ thread, attempts })));
    };
    askOnceAllListen();
  });

  process.on('message', (request: ProbeRequest) => {
    if (request.kind !== 'probe') return;
    const main = attemptForbidden();
    void probeWorkers().then((workers) => {
      const answer: ProbeAnswer = { kind: 'probe-answer', threads: [{ thread: 'main', attempts: main }, ...workers] };
      process.send!(answer);
    });
  });
}

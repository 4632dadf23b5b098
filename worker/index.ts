// The Piscina task: runs one execution in this worker thread and reports over parentPort.
//
//   Piscina task (ExecTask) ──► runExecution ──► Sandbox.execute ──► an isolate of its own, fresh Context
//                                                     │ flush/progress (batched in the isolate)
//   parentPort ◄── 'started' · 'logs' · 'progress' ◄──┘ OutputRelay (caps log volume)
//   parentPort ◄── 'ended' (outcome)                   after the last output of the execution
//   BroadcastChannel ──► 'cancel' ──► Sandbox.cancel
//   parentPort ◄── 'input-wanted' ◄── input() in the isolate, one per call the Run has nothing for
//   BroadcastChannel ──► 'input' (a message, or the end) ──► Sandbox.input ──► the oldest input() waiting
//   BroadcastChannel ──► 'ping' ──► parentPort 'pong'   the pool's heartbeat
//   BroadcastChannel ──► 'shutdown' ──► Sandbox.close, collect handles ──► parentPort 'closed'
//   Sandbox quarantined an isolate ──► parentPort 'quarantined' (this thread must never stop)
//   probe channel ◄──► worker/probe.ts   test seam, loaded only when workerData names the channel
//
// Everything about one execution travels over the same port, in order, so the main thread
// sees its last log entry before its end. The task itself resolves with nothing.
// First: the thread's priority, before isolated-vm starts threads of its own (worker/priority.ts).
import './priority.js';
import { BroadcastChannel, parentPort, threadId, workerData } from 'node:worker_threads';
import { collectHeap } from './heap.js';
import { OutputRelay } from './output.js';
import { Sandbox } from './sandbox.js';
import type { ControlMessage, CrashKind, ExecTask, TaskResult, WorkerConfig, WorkerMessage } from './protocol.js';

// Under the permission model (README "Permissions"), once isolated-vm is loaded (by the import
// above) this thread gives up loading addons and starting threads, which it never does again:
// code that got out of an isolate could otherwise load native code, or start a Worker with an
// execArgv of its own, which Node does not put under the model.
// (process.permission exists only under --permission; @types/node 24 does not know drop().)
const permission = process.permission as (NodeJS.ProcessPermission & { drop(scope: string): void }) | undefined;
permission?.drop('addon');
permission?.drop('worker');

const config = workerData as WorkerConfig;
// Once its kept isolates are gone after load (CHARIOT_ISOLATE_IDLE_MS), the thread collects its
// own heap: nothing else would while it is idle (docs/API.md "Memory after load").
const sandbox = new Sandbox(config.isolates, (message, count) => post({ kind: 'quarantined', threadId, count, message }), () => collectHeap());

const control = new BroadcastChannel(config.controlChannel);
control.onmessage = (event) => {
  const message = (event as { data: ControlMessage }).data;
  if (message.kind === 'cancel') sandbox.cancel(message.execId);
  if (message.kind === 'input') sandbox.input(message.execId, 'data' in message ? message.data : null);
  if (message.kind === 'ping') post({ kind: 'pong', threadId, seq: message.seq });
  if (message.kind === 'crash' && sandbox.holds(message.execId)) {
    void sandbox.abandon().then(() => {
      collectHandles();
      FAULTS[message.how]();
    });
  }
  if (message.kind === 'shutdown') {
    // A thread terminated while it still holds isolates can abort the whole process
    // ("terminate called after throwing an instance of 'ivm::RuntimeError'"): dispose first.
    void sandbox.close().then(() => {
      collectHandles();
      post({ kind: 'closed' });
    });
  }
};
control.unref();
if (config.probeChannel !== undefined) (await import('./probe.js')).answerProbes(config.probeChannel, () => sandbox.census);
post({ kind: 'ready', threadId });

/** Fault injection: how the worker stops once its isolates are disposed. */
const FAULTS: Readonly<Record<CrashKind, () => void>> = {
  exit: () => process.exit(1),
  // Fills this thread's own heap until Node stops it (ERR_WORKER_OUT_OF_MEMORY).
  'out-of-memory': () => {
    const hog: number[][] = [];
    for (;;) hog.push(new Array<number>(1 << 20).fill(1.5));
  },
  // Never returns and never answers: only the main thread's watchdog can end its executions.
  freeze: () => {
    for (;;);
  },
};

/**
 * Collects this thread's dead isolated-vm handles while isolated-vm can still account for
 * them. A thread's exit runs one more garbage collection after isolated-vm has let go of the
 * thread (on Node 26 from V8's CppHeap::StartDetachingIsolate), and a handle collected then
 * aborts the process: "IsolateEnvironment::GetCurrent(): Assertion `environment != nullptr'
 * failed" in ClassHandle::WeakCallback (Node 24 and 26, after many executions: main.test.ts).
 * Called only once this thread's isolates are disposed, before it stops.
 */
function collectHandles(): void {
  collectHeap(true);
}

function post(message: WorkerMessage): void {
  parentPort!.postMessage(message);
}

export default async function runExecution(task: ExecTask): Promise<TaskResult> {
  post({ kind: 'started', execId: task.execId });
  const relay = new OutputRelay(task.execId, task.limits, post);
  const { outcome, setAside } = await sandbox.execute(task, relay, () => post({ kind: 'input-wanted', execId: task.execId }));
  relay.finish();
  post({ kind: 'ended', execId: task.execId, outcome });
  // The slot stays taken until the isolate's fate is known, so that its owner is charged for
  // an isolate set aside after the end (one that ran on past the wall-clock limit, say).
  const aside = await setAside;
  return { threadId, quarantines: sandbox.quarantines, setAside: aside };
}

// Imported first by the worker thread (worker/index.ts), before isolated-vm is loaded: the
// thread lowers its own CPU priority to CHARIOT_WORKER_NICE (on Linux the nice value is a
// thread's, and `setpriority(PRIO_PROCESS, 0)` sets the calling thread's alone), and the threads
// it starts from then on, isolated-vm's included, inherit it. The main thread keeps its own, so
// that under a saturated pool it still reads requests, answers /healthz and refuses what it must
// at once, while the scripts get every cycle it does not use (docs/API.md "A bounded wait").
import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import type { WorkerConfig } from './protocol.js';

const { nice } = workerData as WorkerConfig;
if (nice > 0) {
  try {
    setPriority(0, nice);
  } catch {
    // A platform without it, or a process already at a higher nice floor: the thread runs as is.
  }
}

// The messages that cross the thread boundary, in both directions. Types only: both
// src/ (main thread) and worker/ `import type` from here, and nothing else is shared.
//
//   main ──Piscina task (ExecTask)──────────────► worker
//   main ◄──parentPort (WorkerMessage)─────────── worker   one port per worker, tagged by execId
//   main ──BroadcastChannel (ControlMessage)────► workers  cancel requests, input() answers
//   main ◄─BroadcastChannel (ProbeMessage)──────► workers  test seam only (src/test-probe.ts)

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** A log entry as a worker sends it, before the main thread numbers it. */
export interface LogRecord {
  /** Milliseconds since the epoch, read when the script logged. */
  readonly time: number;
  readonly level: LogLevel;
  readonly message: string;
}

export interface ProgressRecord {
  readonly percent: number;
  readonly message: string;
}

/** Per-execution limits, copied from the service's Config. */
export interface ExecutionLimits {
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly memoryMb: number;
  readonly resultLimitBytes: number;
  readonly logMessageLimit: number;
  readonly logEntryCap: number;
  readonly logByteCap: number;
  /** CHARIOT_WALK_GUARDS: install worker/walk-guards.ts in each context. */
  readonly walkGuards: boolean;
}

export interface ExecTask {
  readonly execId: string;
  /** An isolate serves one owner's executions only, one at a time. */
  readonly owner: string;
  readonly program: string;
  readonly limits: ExecutionLimits;
}

export type ResultType = 'number' | 'string' | 'boolean' | 'null' | 'undefined' | 'bigint' | 'array' | 'object';

/** Which limit or fault ended an execution with status `error`. */
export type ErrorReason = 'script' | 'syntax' | 'result' | 'cpu' | 'wall' | 'memory' | 'isolate' | 'worker' | 'instance' | 'queue' | 'internal';

export type Outcome =
  | { readonly status: 'completed'; readonly type: ResultType; /** JSON text of the value */ readonly json: string }
  | { readonly status: 'error'; readonly reason: ErrorReason; readonly message: string }
  | { readonly status: 'cancelled' };

/** What a worker reports about one of its executions. */
export type ExecutionMessage =
  | { readonly kind: 'started'; readonly execId: string }
  | { readonly kind: 'logs'; readonly execId: string; readonly records: readonly LogRecord[] }
  | { readonly kind: 'progress'; readonly execId: string; readonly progress: ProgressRecord }
  | { readonly kind: 'ended'; readonly execId: string; readonly outcome: Outcome }
  /** The script called input() and this worker has nothing for it: one per call, answered by one 'input'. */
  | { readonly kind: 'input-wanted'; readonly execId: string };

export type WorkerMessage =
  | ExecutionMessage
  /** This worker listens on the control channel (sent once, when its module has loaded). */
  | { readonly kind: 'ready'; readonly threadId: number }
  /** Answer to 'shutdown': this worker disposed its isolates and may be terminated. */
  | { readonly kind: 'closed' }
  /**
   * An isolate of this worker was quarantined after a catastrophic error (`message` is
   * isolated-vm's): the thread keeps serving, but stopping it would hang the process.
   */
  | { readonly kind: 'quarantined'; readonly threadId: number; readonly count: number; readonly message: string }
  /** Answer to 'ping': this worker's event loop turns. */
  | { readonly kind: 'pong'; readonly threadId: number; readonly seq: number };

/**
 * What a task resolves with: its worker's quarantines so far, and whether this execution's own
 * isolate was set aside. The pool learns of a quarantine before the slot of the execution it
 * ended is reused (the 'quarantined' message travels on another port and may come later), so
 * nothing starts once the limit is reached, nor an execution of a user refused for it.
 */
export interface TaskResult {
  readonly threadId: number;
  readonly quarantines: number;
  readonly setAside: boolean;
}

export type ControlMessage =
  | { readonly kind: 'cancel'; readonly execId: string }
  /**
   * The answer to one 'input-wanted' (or a message for a script already waiting): the next
   * message of the execution's input, or its end, after which every input() there resolves null.
   */
  | { readonly kind: 'input'; readonly execId: string; readonly data: string }
  | { readonly kind: 'input'; readonly execId: string; readonly end: true }
  /** The pool's heartbeat: answer 'pong' with the same `seq` (src/pool.ts, CHARIOT_THREAD_STALL_MS). */
  | { readonly kind: 'ping'; readonly seq: number }
  /** The pool is about to stop: dispose every isolate, then answer 'closed'. */
  | { readonly kind: 'shutdown' }
  /**
   * Fault injection: the worker holding `execId` dies (exit code 1) without reporting its
   * executions' ends, as after a crash. Its isolates are disposed first: a thread that stops
   * while it holds isolates can deadlock inside isolated-vm (see docs/API.md).
   */
  | { readonly kind: 'crash'; readonly execId: string; readonly how: CrashKind };

/**
 * How an injected fault stops its worker: exit code 1, its own host heap exhausted, or its
 * thread spinning for good without a word (as a thread parked by a fatal error would).
 */
export type CrashKind = 'exit' | 'out-of-memory' | 'freeze';

/** Piscina's workerData for our workers. */
export interface WorkerConfig {
  /** Name of the BroadcastChannel carrying ControlMessages; unique per pool. */
  readonly controlChannel: string;
  /**
   * Test seam (CHARIOT_TEST_PROBE): name of the BroadcastChannel carrying ProbeMessages. Set,
   * the worker loads worker/probe.ts; unset (always in production), nothing of it exists.
   */
  readonly probeChannel: string | undefined;
  /** The process's context lock (context-lock.ts): one Int32 shared by every worker thread. */
  readonly contextLock: SharedArrayBuffer;
  /** This thread's nice value (CHARIOT_WORKER_NICE; worker/priority.ts). */
  readonly nice: number;
  /** What the worker's isolates are made with and how many it keeps (worker/isolate-pool.ts). */
  readonly isolates: {
    /** Heap limit of each isolate, in MiB (CHARIOT_MEMORY_MB). */
    readonly memoryMb: number;
    /** Spare isolates kept warm (CHARIOT_SPARE_ISOLATES). */
    readonly spares: number;
    /** A kept isolate idle this long is disposed (CHARIOT_ISOLATE_IDLE_MS). */
    readonly idleMs: number;
    /** Isolates kept for their owners' next executions, at most (CHARIOT_TASKS_PER_THREAD). */
    readonly kept: number;
    /** This thread's share of CHARIOT_SANDBOX_MEMORY_MB: the heap of all its isolates, in MiB. */
    readonly budgetMb: number;
  };
}

/** The isolates of one worker thread by role (worker/isolate-pool.ts), for the test probe. */
export interface IsolateCensus {
  /** Serving an execution now. */
  readonly busy: number;
  /** Kept for their users' next executions. */
  readonly kept: number;
  readonly spares: number;
  /** Sweeps that found none kept or busy after executions ran: each collected the thread's heap. */
  readonly quiets: number;
}

/**
 * What one thread got when it tried something the permission model should refuse: 'allowed',
 * or the error's code (ERR_ACCESS_DENIED under the model), or its message when it has none.
 */
export type ProbeOutcome = string;

/** The attempts of worker/probe.ts, made in one thread. */
export interface ProbeAttempts {
  /** child_process.execFileSync('true') */
  readonly childProcess: ProbeOutcome;
  /** fs.writeFileSync to a new file in the temp folder (removed again if it was written) */
  readonly write: ProbeOutcome;
  /** fs.readFileSync('/etc/passwd'), outside the app folder */
  readonly readOutside: ProbeOutcome;
  /** fs.readFileSync of the app's package.json, inside the app folder (must be allowed) */
  readonly readInside: ProbeOutcome;
  /** new WASI() */
  readonly wasi: ProbeOutcome;
  /** new Worker() with an execArgv of its own (such a thread would not be under the permission model) */
  readonly worker: ProbeOutcome;
  /** process.dlopen() of an addon file that does not exist: ERR_DLOPEN_FAILED when allowed to try */
  readonly addon: ProbeOutcome;
}

/** Test seam: the messages on the probe channel, between src/test-probe.ts and worker/probe.ts. */
export type ProbeMessage =
  /** A worker listens on the probe channel (sent once, when its probe module has loaded). */
  | { readonly kind: 'probe-ready'; readonly threadId: number }
  /** The main thread asks every worker to make its attempts. */
  | { readonly kind: 'probe'; readonly id: number }
  | { readonly kind: 'probe-result'; readonly id: number; readonly threadId: number; readonly attempts: ProbeAttempts }
  /** The main thread asks every worker for its isolates by role. */
  | { readonly kind: 'census'; readonly id: number }
  | { readonly kind: 'census-result'; readonly id: number; readonly threadId: number; readonly isolates: IsolateCensus };

// Test seam (CHARIOT_TEST_PROBE, never in production): tries, in the thread that calls it, what
// the permission model of `npm start` must refuse, and answers the main thread's probes on a
// BroadcastChannel. Loaded by worker/index.ts only when workerData names a probe channel; the
// main thread (src/test-probe.ts) makes the same attempts through `attemptForbidden`. Scripts
// cannot reach it: they run in isolates with no Node API, and only threads post to the channel.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BroadcastChannel, threadId, Worker } from 'node:worker_threads';
import type { IsolateCensus, ProbeAttempts, ProbeMessage, ProbeOutcome } from './protocol.js';

/** dist/worker/probe.js → the app folder's package.json. */
const INSIDE = new URL('../../package.json', import.meta.url);
/** An addon file that does not exist, in the app folder (readable): only the addon grant decides. */
const NO_ADDON = fileURLToPath(new URL('../../no-such-addon.node', import.meta.url));

function attempt(action: () => unknown): ProbeOutcome {
  try {
    action();
    return 'allowed';
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code : String(error);
  }
}

/** Every attempt, in this thread. A file the write attempt managed to create is removed again. */
export function attemptForbidden(): ProbeAttempts {
  const written = join(tmpdir(), `chariot-probe-${randomUUID()}`);
  const write = attempt(() => writeFileSync(written, 'probe'));
  if (write === 'allowed') rmSync(written, { force: true });
  return {
    childProcess: attempt(() => execFileSync('true', { stdio: 'ignore' })),
    write,
    readOutside: attempt(() => readFileSync('/etc/passwd')),
    readInside: attempt(() => readFileSync(INSIDE)),
    // Loaded only here: node:wasi warns that it is experimental when it is loaded.
    wasi: attempt(() => new (process.getBuiltinModule('node:wasi').WASI)({ version: 'preview1' })),
    // A thread that ends at once, and would not keep the process up.
    worker: attempt(() => new Worker('', { eval: true, execArgv: [] }).unref()),
    addon: attempt(() => process.dlopen({ exports: {} }, NO_ADDON)),
  };
}

/**
 * Listens on the probe channel, says so, and answers every probe with this thread's attempts,
 * and every census with `census()`, this thread's isolates by role.
 */
export function answerProbes(channelName: string, census: () => IsolateCensus): void {
  const channel = new BroadcastChannel(channelName);
  const post = (message: ProbeMessage): void => channel.postMessage(message);
  channel.onmessage = (event) => {
    const message = (event as { data: ProbeMessage }).data;
    if (message.kind === 'probe') post({ kind: 'probe-result', id: message.id, threadId, attempts: attemptForbidden() });
    if (message.kind === 'census') post({ kind: 'census-result', id: message.id, threadId, isolates: census() });
  };
  channel.unref();
  post({ kind: 'probe-ready', threadId });
}

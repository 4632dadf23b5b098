// The benchmark harness runs end to end in its tiny profile, and its JSON has every field
// with the right type, with and without --against (another commit's build beside this one's).
// No figure is judged: timings belong to `npm run bench`, not to tests.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const HARNESS = fileURLToPath(new URL('../bench/run.js', import.meta.url));
const APP_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A JSON type name, an array of one shape, a record of anything, or an object's fields. */
type Shape = 'number' | 'string' | 'boolean' | 'null' | 'number|null' | 'string|null' | 'boolean|null' | 'record' | readonly [Shape] | { readonly [field: string]: Shape };

const SUMMARY: Shape = { count: 'number', meanMs: 'number', p50Ms: 'number', p90Ms: 'number', p99Ms: 'number', maxMs: 'number' };
const LOAD: Shape = { concurrency: 'number', ok: 'number', failures: 'record', durationS: 'number', rps: 'number', latency: SUMMARY };
const COMPARISON: Shape = { rps: 'number|null', p50: 'number|null', p99: 'number|null' };
const CPU_RUN: Shape = { batchMs: 'number', executionsPerS: 'number', speedUp: 'number' };
const HEALTHZ: Shape = { latency: SUMMARY, failures: 'number', maxRunning: 'number', maxQueued: 'number' };
const OVERLOAD: Shape = {
  offeredRps: 'number',
  sent: 'number',
  notSent: 'number',
  durationS: 'number',
  outcomes: 'record',
  shares: { accepted: 'number', tooMany429: 'number', queueFull503: 'number', queueWait503: 'number', waitedOut500: 'number', other: 'number' },
  acceptedRps: 'number',
  healthz: HEALTHZ,
};
const MEMORY: Shape = { rssBytes: 'number', heapUsedBytes: 'number' };
const SPARES: Shape = { none: MEMORY, more: MEMORY, rssPerSpareBytes: 'number', heapPerSpareBytes: 'number', defaultVsNoneRssBytes: 'number' };
const RUNNING: Shape = { before: MEMORY, during: MEMORY, rssPerExecutionBytes: 'number', heapPerExecutionBytes: 'number' };
/** One transport's figures at one level of scenario 2 (SSE's at the level itself, the WebSocket's in `ws`). */
const LOG_DELIVERY = { entriesMeasured: 'number', entriesBeforeSubscribe: 'number', incompleteStreams: 'number', bytesPerEntry: 'number' } as const;
/** The same in scenario 3. */
const FAN_OUT_DELIVERY = {
  connectMs: 'number',
  allConnectedBeforeFirstEntry: 'boolean',
  subscribersComplete: 'number',
  allReceivedEveryEntry: 'boolean',
  deliveriesBeforeSubscribe: 'number',
  latency: SUMMARY,
  spread: SUMMARY,
  memory: { rssBeforeBytes: 'number', rssWithSubscribersBytes: 'number', rssPerSubscriberBytes: 'number', heapPerSubscriberBytes: 'number' },
  bytesPerDelivery: 'number',
} as const;

/**
 * The whole JSON. `against`: run with --against (its fields are null otherwise);
 * `againstReadsSpares`: that build reads CHARIOT_SPARE_ISOLATES (its spare figures are null otherwise).
 */
/** A server's resident memory over scenario 1 (read from /proc: these tests run on Linux). */
const SERVER_MEMORY: Shape = { idleRssBytes: 'number', peakRssBytes: 'number', afterRssBytes: 'number', afterVsIdle: 'number' };

const resultShape = (against: boolean, againstReadsSpares = false): { readonly [field: string]: Shape } => ({
  schemaVersion: 'number',
  profile: 'string',
  command: 'string',
  startedAt: 'string',
  finishedAt: 'string',
  durationS: 'number',
  machine: { cpuModel: 'string', cores: 'number', memoryGiB: 'number', os: 'string', node: 'string', v8: 'string', openFilesLimit: 'number', loadAverageAtStart: 'number' },
  setup: 'string',
  against: against ? { ref: 'string', commit: 'string', label: 'string', nodeModules: 'string', prepareS: 'number' } : 'null',
  throughput: {
    program: 'string',
    threads: 'number',
    users: 'number',
    serverEnv: 'record',
    against: against ? 'string' : 'null',
    levels: [{
      concurrency: 'number',
      targets: { chariotSync: LOAD, chariotAsync: LOAD, forkServer: LOAD, quickjs: LOAD, rawIsolate: LOAD, chariotAgainst: against ? LOAD : 'null' },
      ratios: {
        chariotSync: { vsRawIsolate: COMPARISON, vsForkServer: COMPARISON, vsQuickjs: COMPARISON, vsAgainst: against ? COMPARISON : 'null' },
        chariotAsync: { vsRawIsolate: COMPARISON, vsForkServer: COMPARISON, vsQuickjs: COMPARISON },
      },
    }],
    afterMs: 'number',
    memory: against ? { chariot: SERVER_MEMORY, chariotAgainst: SERVER_MEMORY, forkServer: SERVER_MEMORY, quickjs: SERVER_MEMORY } : { chariot: SERVER_MEMORY, forkServer: SERVER_MEMORY, quickjs: SERVER_MEMORY },
  },
  logLatency: {
    entriesPerStream: 'number',
    intervalMs: 'number',
    timestampResolutionMs: 'number',
    serverEnv: 'record',
    levels: [{
      streams: 'number',
      entriesExpected: 'number',
      ...LOG_DELIVERY,
      chariot: SUMMARY,
      ws: { ...LOG_DELIVERY, latency: SUMMARY },
      firstTransport: 'string',
      rawIsolate: SUMMARY,
      ratios: {
        p50VsRawIsolate: 'number|null',
        p99VsRawIsolate: 'number|null',
        wsP50VsRawIsolate: 'number|null',
        wsP99VsRawIsolate: 'number|null',
        wsP50VsSse: 'number|null',
        wsP99VsSse: 'number|null',
      },
    }],
  },
  fanOut: {
    intervalMs: 'number',
    rawIsolate: SUMMARY,
    levels: [{
      subscribers: 'number',
      entries: 'number',
      ...FAN_OUT_DELIVERY,
      ws: FAN_OUT_DELIVERY,
      firstTransport: 'string',
      ratios: {
        p50VsRawIsolate: 'number|null',
        p99VsRawIsolate: 'number|null',
        wsP50VsRawIsolate: 'number|null',
        wsP99VsRawIsolate: 'number|null',
        wsP50VsSse: 'number|null',
        wsP99VsSse: 'number|null',
        wsSpreadP50VsSse: 'number|null',
        wsSpreadMaxVsSse: 'number|null',
        wsConnectVsSse: 'number|null',
        wsRssPerSubscriberVsSse: 'number|null',
        wsHeapPerSubscriberVsSse: 'number|null',
      },
    }],
  },
  cpuScaling: {
    program: 'string',
    jobs: 'number',
    rounds: 'number',
    points: [{
      threads: 'number',
      chariot: CPU_RUN,
      quickjs: CPU_RUN,
      rawIsolate: CPU_RUN,
      plainNode: CPU_RUN,
      ratios: { chariotTimeVsPlainNode: 'number|null', chariotTimeVsQuickjs: 'number|null', chariotTimeVsRawIsolate: 'number|null', rawIsolateTimeVsPlainNode: 'number|null' },
    }],
  },
  admission: {
    program: 'string',
    users: 'number',
    serverEnv: 'record',
    unloaded: LOAD,
    capacity: LOAD,
    rawIsolateCapacity: LOAD,
    overload: OVERLOAD,
    overloadUnbounded: OVERLOAD,
    unboundedEnv: 'record',
    healthz: { idle: HEALTHZ, duringOverload: HEALTHZ },
    maxQueueWaitMs: 'number',
    ratios: {
      acceptedP99VsWaitLimit: 'number|null',
      acceptedP99VsUnbounded: 'number|null',
      healthzP99VsUnbounded: 'number|null',
      acceptedRpsVsCapacity: 'number|null',
      acceptedRpsVsRawIsolate: 'number|null',
      acceptedP50VsUnloaded: 'number|null',
      acceptedP99VsUnloaded: 'number|null',
      healthzP50VsIdle: 'number|null',
      healthzP99VsIdle: 'number|null',
    },
  },
  memory: {
    program: 'string',
    threads: 'number',
    settleMs: 'number',
    serverEnv: 'record',
    against: against ? 'string' : 'null',
    readsSpareVariable: { chariot: 'boolean', chariotAgainst: against ? 'boolean' : 'null' },
    idle: { chariot: MEMORY, chariotAgainst: against ? MEMORY : 'null', rssVsAgainst: against ? 'number|null' : 'null' },
    spares: { perThread: 'number', chariot: SPARES, chariotAgainst: againstReadsSpares ? SPARES : 'null' },
    running: [{
      executions: 'number',
      chariot: RUNNING,
      chariotAgainst: against ? RUNNING : 'null',
      rssPerExecutionVsAgainst: against ? 'number|null' : 'null',
    }],
  },
  redis: {
    threads: 'number',
    redisVersion: 'string',
    serverEnv: 'record',
    throughput: [{ concurrency: 'number', memory: LOAD, redis: LOAD, ratio: COMPARISON }],
    delivery: [{
      subscribers: 'number',
      entries: 'number',
      complete: { memory: 'number', holder: 'number', otherInstance: 'number' },
      memory: SUMMARY,
      holder: SUMMARY,
      otherInstance: SUMMARY,
      ratios: { p50OtherVsMemory: 'number|null', p99OtherVsMemory: 'number|null' },
    }],
    redisMemory: { executions: 'number', entriesPerExecution: 'number', messageChars: 'number', bytesPerExecution: 'number', bytesPerEntry: 'number' },
    handOff: {
      executions: 'number',
      sleepMs: 'number',
      memory: SUMMARY,
      sharedQueue: SUMMARY,
      ranOn: { sentTo: 'number', other: 'number' },
      ratios: { p50SharedVsMemory: 'number|null', p99SharedVsMemory: 'number|null' },
    },
  },
  files: { table: 'string', chart: 'string|null' },
});

/** Every place where `value` does not have `shape`, as "path: expected X, got Y". */
function mismatches(value: unknown, shape: Shape, path: string): string[] {
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  if (typeof shape === 'string') {
    const allowed = shape === 'record' ? ['object'] : shape.split('|');
    const ok = allowed.includes(got) && (got !== 'number' || Number.isFinite(value));
    return ok ? [] : [`${path}: expected ${shape}, got ${got === 'number' ? String(value) : got}`];
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${path}: expected an array, got ${got}`];
    if (value.length === 0) return [`${path}: expected at least one element`];
    return value.flatMap((element, i) => mismatches(element, (shape as readonly [Shape])[0], `${path}[${i}]`));
  }
  if (got !== 'object') return [`${path}: expected an object, got ${got}`];
  const record = value as Record<string, unknown>;
  const extra = Object.keys(record).filter((key) => !(key in shape)).map((key) => `${path}.${key}: not in the expected shape`);
  return [...extra, ...Object.entries(shape).flatMap(([key, inner]) => mismatches(record[key], inner as Shape, `${path}.${key}`))];
}

interface Written {
  readonly json: Record<string, unknown> & { profile: string; files: { table: string; chart: string }; memory: { readsSpareVariable: { chariotAgainst: boolean | null } } };
  readonly table: string;
  readonly svg: string;
}

/** Runs the harness in the tiny profile with these arguments, into `out`, and reads what it wrote. */
async function runHarness(out: string, ...args: string[]): Promise<Written> {
  await promisify(execFile)(process.execPath, ['--no-node-snapshot', HARNESS, '--profile', 'tiny', '--out', out, ...args], { maxBuffer: 16 * 1024 * 1024 });
  const files = (await readdir(out)).sort();
  const json = files.filter((name) => name.endsWith('.json'));
  expect(json, `files written: ${files.join(', ')}`).to.have.length(1);
  const result = JSON.parse(await readFile(join(out, json[0]!), 'utf8')) as Written['json'];
  return { json: result, table: await readFile(join(out, result.files.table), 'utf8'), svg: await readFile(join(out, result.files.chart), 'utf8') };
}

/** The worktrees of this repository, as `git worktree list --porcelain` names them. */
async function worktrees(): Promise<string[]> {
  const { stdout } = await promisify(execFile)('git', ['-C', APP_ROOT, 'worktree', 'list', '--porcelain'], { encoding: 'utf8' });
  return stdout.split('\n').filter((line) => line.startsWith('worktree ')).map((line) => line.slice('worktree '.length));
}

describe('npm run bench (smoke test, tiny profile)', function () {
  this.timeout(120_000);
  let out: string;

  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'chariot-bench-'));
  });
  afterEach(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('runs every scenario and writes a JSON result with every field, a table and an SVG chart', async () => {
    const { json, table, svg } = await runHarness(out);
    expect(mismatches(json, resultShape(false), 'result')).to.deep.equal([]);
    expect(json.profile).to.equal('tiny');
    for (const heading of ['Scenario 1', 'Scenario 2', 'Scenario 3', 'Scenario 4', 'Scenario 5', 'Scenario 6', 'Scenario 7']) expect(table).to.include(heading);
    // Scenario 7: every subscriber, through Redis too, got every entry.
    const redis = json.redis as { delivery: { subscribers: number; complete: { memory: number; holder: number; otherInstance: number } }[] };
    for (const level of redis.delivery) {
      expect(level.complete).to.deep.equal({ memory: level.subscribers, holder: level.subscribers, otherInstance: level.subscribers });
    }
    expect(table).to.include('Redis memory:').and.to.include('B / memory');
    // The QuickJS baseline's rows and ratio columns, in scenarios 1 and 4.
    expect(table).to.include('quickjs-emscripten').and.to.include('vs quickjs').and.to.include('chariot vs quickjs');
    // Each server's memory idle, at its peak and after the load, in scenario 1.
    expect(table).to.include('resident memory').and.to.include('after / idle');
    expect(svg).to.match(/^<svg[\s\S]*<\/svg>$/);
  });

  it('--against HEAD measures that build beside this one in scenarios 1 and 6, with the ratios, and removes its worktree', async () => {
    const before = await worktrees();
    const { json, table } = await runHarness(out, '--only', 'throughput,memory', '--against', 'HEAD');
    const readsSpares = json.memory.readsSpareVariable.chariotAgainst === true;
    const leftOut = { logLatency: 'null', fanOut: 'null', cpuScaling: 'null', admission: 'null', redis: 'null' } as const;
    expect(mismatches(json, { ...resultShape(true, readsSpares), ...leftOut }, 'result')).to.deep.equal([]);
    const { label } = json.against as { label: string };
    expect(label).to.match(/^chariot@[0-9a-f]{7,}$/);
    expect(table).to.include(`${label} /api/execute`).and.to.include(`vs ${label}`).and.to.include('new / old');
    expect(await worktrees()).to.deep.equal(before);
  });
});

// The terminal report: one table per scenario, every figure of ours beside its ratio to a
// baseline measured in the same run.
import type { BenchResult } from './result.js';
import type { FanOutDelivery } from '../scenarios/fan-out.js';
import type { Comparison, ThroughputLevel } from '../scenarios/throughput.js';
import { fixed, table, times, type Cell } from './table.js';

const TARGET_NAMES = {
  chariotSync: 'chariot /api/execute',
  chariotAsync: 'chariot async + SSE',
  forkServer: 'fork per execution',
  quickjs: 'quickjs-emscripten',
  rawIsolate: 'raw isolate (no HTTP)',
} as const;

const MIB = 1024 * 1024;

function throughput(result: NonNullable<BenchResult['throughput']>): string {
  const names: [keyof ThroughputLevel['targets'], string][] = Object.entries(TARGET_NAMES) as [keyof typeof TARGET_NAMES, string][];
  if (result.against !== null) names.splice(1, 0, ['chariotAgainst', `${result.against} /api/execute`]);
  const pair = (c: Comparison | null | undefined): string => (c ? `${times(c.rps)} / ${times(c.p50)}` : '');
  const rows = result.levels.flatMap((level) => names.map(([target, name]) => {
    const r = level.targets[target]!;
    const ratios = target === 'chariotSync' || target === 'chariotAsync' ? level.ratios[target] : undefined;
    const failed = Object.values(r.failures).reduce((sum, n) => sum + n, 0);
    const row = [
      String(level.concurrency), name, r.rps, r.latency.p50Ms, r.latency.p90Ms, r.latency.p99Ms, r.latency.maxMs, failed,
      pair(ratios?.vsRawIsolate), pair(ratios?.vsForkServer), pair(ratios?.vsQuickjs),
    ];
    return result.against === null ? row : [...row, pair(target === 'chariotSync' ? level.ratios.chariotSync.vsAgainst : null)];
  }));
  const headers = ['concurrency', 'target', 'req/s', 'p50', 'p90', 'p99', 'max', 'failed', 'vs raw isolate', 'vs fork server', 'vs quickjs'];
  return `Scenario 1: trivial executions (\`${result.program}\`), closed loop; latency in ms; ratios are req/s / p50 latency\n`
    + table(result.against === null ? headers : [...headers, `vs ${result.against}`], rows)
    + serverMemory(result);
}

const SERVER_NAMES = { chariot: 'chariot-exec', chariotAgainst: 'chariot (--against)', forkServer: 'fork per execution', quickjs: 'quickjs-emscripten' } as const;

function serverMemory(result: NonNullable<BenchResult['throughput']>): string {
  if (result.memory === null) return '\nServer resident memory: not read (no /proc here)\n';
  const rows = Object.entries(result.memory).map(([target, figures]) => [
    target === 'chariotAgainst' ? `${result.against ?? 'other build'}` : SERVER_NAMES[target as keyof typeof SERVER_NAMES],
    fixed(figures.idleRssBytes / MIB), fixed(figures.peakRssBytes / MIB), fixed(figures.afterRssBytes / MIB), times(figures.afterVsIdle),
  ]);
  return `\nServer resident memory (MiB, no collection forced): idle before the first level, peak (high-water mark), ${result.afterMs / 1000} s after the last level\n`
    + table(['server', 'idle', 'peak', 'after', 'after / idle'], rows);
}

function logLatency(result: NonNullable<BenchResult['logLatency']>): string {
  const rows = result.levels.flatMap((level): Cell[][] => [
    [String(level.streams), 'SSE', level.entriesMeasured, level.chariot.p50Ms, level.chariot.p99Ms, level.chariot.maxMs, level.bytesPerEntry,
      times(level.ratios.p50VsRawIsolate), times(level.ratios.p99VsRawIsolate), '', level.incompleteStreams],
    [String(level.streams), 'WebSocket', level.ws.entriesMeasured, level.ws.latency.p50Ms, level.ws.latency.p99Ms, level.ws.latency.maxMs, level.ws.bytesPerEntry,
      times(level.ratios.wsP50VsRawIsolate), times(level.ratios.wsP99VsRawIsolate), `${times(level.ratios.wsP50VsSse)} / ${times(level.ratios.wsP99VsSse)}`, level.ws.incompleteStreams],
    [String(level.streams), 'raw isolate (no HTTP)', null, level.rawIsolate.p50Ms, level.rawIsolate.p99Ms, level.rawIsolate.maxMs, null, '', '', '', null],
  ]);
  return `Scenario 2: log latency, logPrint → parsed at a client, ms (one entry per stream every ${result.intervalMs} ms; timestamps have 1 ms resolution; SSE and WebSocket on the same server, a connection per stream)\n`
    + table(['streams', 'transport', 'entries timed', 'p50', 'p99', 'max', 'bytes/entry', 'p50 vs raw', 'p99 vs raw', 'WS / SSE p50 / p99', 'incomplete'], rows);
}

function fanOut(result: NonNullable<BenchResult['fanOut']>): string {
  const row = (level: (typeof result.levels)[number], name: string, d: FanOutDelivery, vsRaw: [number | null, number | null], vsSse: string[]): Cell[] => [
    String(level.subscribers), name, `${d.subscribersComplete}/${level.subscribers}`, d.latency.p50Ms, d.latency.p99Ms,
    d.spread.p50Ms, d.spread.maxMs, d.connectMs, fixed(d.memory.rssPerSubscriberBytes / 1024), fixed(d.memory.heapPerSubscriberBytes / 1024), d.bytesPerDelivery,
    times(vsRaw[0]), times(vsRaw[1]), ...vsSse,
  ];
  const rows = result.levels.flatMap((level) => {
    const r = level.ratios;
    return [
      row(level, 'SSE', level, [r.p50VsRawIsolate, r.p99VsRawIsolate], ['', '', '']),
      row(level, 'WebSocket', level.ws, [r.wsP50VsRawIsolate, r.wsP99VsRawIsolate], [
        `${times(r.wsP50VsSse)} / ${times(r.wsP99VsSse)}`, `${times(r.wsSpreadP50VsSse)} / ${times(r.wsSpreadMaxVsSse)}`, `${times(r.wsRssPerSubscriberVsSse)} / ${times(r.wsHeapPerSubscriberVsSse)}`,
      ]),
    ];
  });
  return `Scenario 3: fan-out of one execution (${result.levels[0]?.entries ?? 0} entries, one every ${result.intervalMs} ms), a connection per subscriber, a fresh server per row; latency, spread and connecting in ms; memory per subscriber in KiB\n`
    + table(['subscribers', 'transport', 'got every entry', 'p50', 'p99', 'spread p50', 'spread max', 'connect', 'RSS KiB', 'heap KiB', 'bytes', 'p50 vs raw', 'p99 vs raw', 'WS / SSE p50 / p99', 'spread p50 / max', 'RSS / heap'], rows);
}

function cpuScaling(result: NonNullable<BenchResult['cpuScaling']>): string {
  const rows = result.points.map((point) => [
    String(point.threads), point.chariot.executionsPerS, point.chariot.speedUp, point.quickjs.executionsPerS, point.quickjs.speedUp,
    point.rawIsolate.executionsPerS, point.rawIsolate.speedUp, point.plainNode.executionsPerS, point.plainNode.speedUp,
    times(point.ratios.chariotTimeVsPlainNode), times(point.ratios.chariotTimeVsQuickjs), times(point.ratios.chariotTimeVsRawIsolate),
  ]);
  const n = /fib\((\d+)\)\s*$/.exec(result.program)?.[1] ?? '?';
  return `Scenario 4: CPU-heavy scaling, ${result.jobs} × fib(${n}) at once, fastest of ${result.rounds}; executions/s and speed-up over 1 thread; time ratios per execution\n`
    + table(['threads', 'chariot/s', 'speed-up', 'quickjs/s', 'speed-up', 'raw isolate/s', 'speed-up', 'plain node/s', 'speed-up', 'chariot vs plain', 'chariot vs quickjs', 'chariot vs raw'], rows);
}

function admission(result: NonNullable<BenchResult['admission']>): string {
  const { overload, overloadUnbounded: before, healthz, ratios } = result;
  const accepted = overload.outcomes['200']?.latency;
  const acceptedBefore = before.outcomes['200']?.latency;
  const pct = (share: number): string => `${(share * 100).toFixed(1)} %`;
  const shares = (phase: typeof overload): string => [phase.shares.accepted, phase.shares.tooMany429, phase.shares.queueFull503, phase.shares.queueWait503, phase.shares.waitedOut500, phase.shares.other].map(pct).join(' / ');
  const rows = [
    ['offered load', `${overload.offeredRps} req/s for ${fixed(overload.durationS)} s`, `${overload.sent} sent, ${overload.notSent} not sent (1,024 already waiting); unbounded: ${before.sent} sent, ${before.notSent} not sent`],
    ['answers 200 / 429 / 503 full / 503 wait / 500 waited out / other', shares(overload), `unbounded: ${shares(before)}`],
    ['accepted req/s', fixed(overload.acceptedRps), `${times(ratios.acceptedRpsVsCapacity)} capacity (${fixed(result.capacity.rps)}), ${times(ratios.acceptedRpsVsRawIsolate)} raw isolate (${fixed(result.rawIsolateCapacity.rps)}); unbounded ${fixed(before.acceptedRps)}`],
    ['accepted latency p50 / p99 ms', accepted ? `${fixed(accepted.p50Ms)} / ${fixed(accepted.p99Ms)}` : '–', `${times(ratios.acceptedP50VsUnloaded)} / ${times(ratios.acceptedP99VsUnloaded)} unloaded (${fixed(result.unloaded.latency.p50Ms)} / ${fixed(result.unloaded.latency.p99Ms)}); p99 ${times(ratios.acceptedP99VsWaitLimit)} the wait limit (${result.maxQueueWaitMs} ms), ${times(ratios.acceptedP99VsUnbounded)} unbounded (${acceptedBefore ? `${fixed(acceptedBefore.p50Ms)} / ${fixed(acceptedBefore.p99Ms)}` : '–'})`],
    ['/healthz p50 / p99 ms', `${fixed(healthz.duringOverload.latency.p50Ms)} / ${fixed(healthz.duringOverload.latency.p99Ms)}`, `${times(ratios.healthzP50VsIdle)} / ${times(ratios.healthzP99VsIdle)} idle (${fixed(healthz.idle.latency.p50Ms)} / ${fixed(healthz.idle.latency.p99Ms)}); ${healthz.duringOverload.failures} failed; p99 ${times(ratios.healthzP99VsUnbounded)} unbounded (${fixed(before.healthz.latency.p50Ms)} / ${fixed(before.healthz.latency.p99Ms)})`],
  ];
  return `Scenario 5: admission under overload (fib(${/fib\((\d+)\)\s*$/.exec(result.program)?.[1] ?? '?'}) per request, ${result.users} users, default limits; "unbounded": ${Object.entries(result.unboundedEnv).map(([name, value]) => `${name}=${value}`).join(' ')})\n`
    + table(['figure', 'value', 'against'], rows);
}

function memory(result: NonNullable<BenchResult['memory']>): string {
  const other = result.against;
  const mib = (bytes: number | undefined): Cell => (bytes === undefined ? null : bytes / MIB);
  const row = (figure: string, ours: number, theirs: number | undefined, ratioOf: number | null): Cell[] =>
    other === null ? [figure, mib(ours)] : [figure, mib(ours), mib(theirs), times(ratioOf)];
  const rows: Cell[][] = [
    row('idle after warm-up: RSS', result.idle.chariot.rssBytes, result.idle.chariotAgainst?.rssBytes, result.idle.rssVsAgainst),
    row('idle after warm-up: main-thread heap', result.idle.chariot.heapUsedBytes, result.idle.chariotAgainst?.heapUsedBytes, null),
    row(`RSS with ${result.spares.perThread} spares per thread − with 0, per spare`, result.spares.chariot.rssPerSpareBytes, result.spares.chariotAgainst?.rssPerSpareBytes, null),
    row('RSS with the default spares − with 0', result.spares.chariot.defaultVsNoneRssBytes, result.spares.chariotAgainst?.defaultVsNoneRssBytes, null),
    ...result.running.flatMap((level) => [
      row(`${level.executions} running: RSS`, level.chariot.during.rssBytes, level.chariotAgainst?.during.rssBytes, null),
      row(`${level.executions} running: RSS per execution`, level.chariot.rssPerExecutionBytes, level.chariotAgainst?.rssPerExecutionBytes, level.rssPerExecutionVsAgainst),
      row(`${level.executions} running: main-thread heap per execution`, level.chariot.heapPerExecutionBytes, level.chariotAgainst?.heapPerExecutionBytes, null),
    ]),
  ];
  const ignored = [
    ...(result.readsSpareVariable.chariot ? [] : ['chariot does not read CHARIOT_SPARE_ISOLATES: its per-spare figures are noise']),
    ...(other !== null && result.readsSpareVariable.chariotAgainst !== true ? [`${other} does not read CHARIOT_SPARE_ISOLATES: not applicable (–)`] : []),
  ];
  return `Scenario 6: server memory in MiB, read after a GC of the main thread (${result.threads} threads, one user, \`${result.program.replace(/\n/g, ' ')}\`, a fresh server per figure)${ignored.length > 0 ? `; ${ignored.join('; ')}` : ''}\n`
    + table(other === null ? ['figure', 'chariot'] : ['figure', 'chariot', other, 'new / old'], rows);
}

function redisMode(result: NonNullable<BenchResult['redis']>): string {
  const pair = (c: { readonly rps: number | null; readonly p50: number | null }): string => `${times(c.rps)} / ${times(c.p50)}`;
  const throughputRows = result.throughput.flatMap((level) => [
    [String(level.concurrency), 'memory', level.memory.rps, level.memory.latency.p50Ms, level.memory.latency.p99Ms, Object.values(level.memory.failures).reduce((sum, n) => sum + n, 0), ''],
    [String(level.concurrency), 'Redis', level.redis.rps, level.redis.latency.p50Ms, level.redis.latency.p99Ms, Object.values(level.redis.failures).reduce((sum, n) => sum + n, 0), pair(level.ratio)],
  ] as Cell[][]);
  const deliveryRows = result.delivery.map((level): Cell[] => [
    String(level.subscribers),
    level.memory.p50Ms, level.memory.p99Ms,
    level.holder.p50Ms, level.holder.p99Ms,
    level.otherInstance.p50Ms, level.otherInstance.p99Ms,
    `${times(level.ratios.p50OtherVsMemory)} / ${times(level.ratios.p99OtherVsMemory)}`,
    `${level.complete.memory}/${level.complete.holder}/${level.complete.otherInstance} of ${level.subscribers}`,
  ]);
  const { redisMemory: mem } = result;
  return `Scenario 7: Redis mode beside memory (${result.threads} threads, Redis ${result.redisVersion}; \`1+2\` over /api/execute; delivery of ${result.delivery[0]?.entries ?? 0} entries of one execution run on instance A)\n`
    + table(['concurrency', 'store', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'Redis / memory (req/s / p50)'], throughputRows)
    + '\n'
    + table(['subscribers', 'memory p50', 'memory p99', 'on A p50', 'on A p99', 'on B p50', 'on B p99', 'B / memory (p50 / p99)', 'complete (M/A/B)'], deliveryRows)
    + `\nRedis memory: ${mem.bytesPerExecution} bytes per finished execution kept (record, log stream, history), ${mem.bytesPerEntry} bytes per retained log entry of ${mem.messageChars} characters (${mem.executions} executions of ${mem.entriesPerExecution} entries)\n`
    + `Hand-off of a free slot (${result.handOff.executions} × sleep(${result.handOff.sleepMs}) on one-slot servers; gap from an end to the next start, p50 / p99 ms): memory ${fixed(result.handOff.memory.p50Ms)} / ${fixed(result.handOff.memory.p99Ms)}, shared queue ${fixed(result.handOff.sharedQueue.p50Ms)} / ${fixed(result.handOff.sharedQueue.p99Ms)} (${times(result.handOff.ratios.p50SharedVsMemory)} / ${times(result.handOff.ratios.p99SharedVsMemory)}); ${result.handOff.ranOn.sentTo} ran on the instance they were sent to, ${result.handOff.ranOn.other} on the other\n`;
}

export function report(result: BenchResult): string {
  const m = result.machine;
  const sections = [
    `chariot-exec benchmarks, profile ${result.profile}, ${result.startedAt}: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, load average at start ${m.loadAverageAtStart}`,
  ];
  if (result.throughput) sections.push(throughput(result.throughput));
  if (result.logLatency) sections.push(logLatency(result.logLatency));
  if (result.fanOut) sections.push(fanOut(result.fanOut));
  if (result.cpuScaling) sections.push(cpuScaling(result.cpuScaling));
  if (result.admission) sections.push(admission(result.admission));
  if (result.memory) sections.push(memory(result.memory));
  if (result.redis) sections.push(redisMode(result.redis));
  return sections.join('\n\n') + '\n';
}

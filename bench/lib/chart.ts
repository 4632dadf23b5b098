// The chart of a run, rendered to SVG with Vega-Lite → Vega, headless (renderer "none" and
// toSVG(): no browser, no canvas, no native module). Three panels: latency against
// concurrency for scenario 1's targets (p50 solid, p99 dashed, both axes logarithmic), the
// speed-up of the CPU-heavy scenario against the thread count, with the ideal line, and the
// server's RSS against the executions it holds running (scenario 6), per build.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchResult } from './result.js';

const TARGET_LABELS: Readonly<Record<string, string>> = {
  chariotSync: 'chariot /api/execute',
  chariotAsync: 'chariot async + SSE',
  forkServer: 'fork per execution',
  quickjs: 'quickjs-emscripten',
  rawIsolate: 'raw isolate (no HTTP)',
};

interface LatencyPoint {
  concurrency: number;
  target: string;
  percentile: string;
  ms: number;
}

interface MemoryPoint {
  executions: number;
  target: string;
  rssMiB: number;
}

interface SpeedUpPoint {
  threads: number;
  target: string;
  speedUp: number;
}

function latencyPoints(result: BenchResult): LatencyPoint[] {
  const label = (target: string): string => (target === 'chariotAgainst' ? `${result.throughput?.against} /api/execute` : TARGET_LABELS[target] ?? target);
  return (result.throughput?.levels ?? []).flatMap((level) => Object.entries(level.targets).flatMap(([target, r]) => r === null ? [] : [
    { concurrency: level.concurrency, target: label(target), percentile: 'p50', ms: r.latency.p50Ms },
    { concurrency: level.concurrency, target: label(target), percentile: 'p99', ms: r.latency.p99Ms },
  ]).filter((point) => point.ms > 0));
}

/** Per build: idle (0 executions), then each running level's reading. */
function memoryPoints(result: BenchResult): MemoryPoint[] {
  const memory = result.memory;
  if (memory === null) return [];
  const builds: ['chariot' | 'chariotAgainst', string][] = [['chariot', 'chariot'], ...(memory.against === null ? [] : [['chariotAgainst', memory.against] as ['chariotAgainst', string]])];
  return builds.flatMap(([key, target]) => [
    { executions: 0, target, rssMiB: memory.idle[key]!.rssBytes / 2 ** 20 },
    ...memory.running.map((level) => ({ executions: level.executions, target, rssMiB: level[key]!.during.rssBytes / 2 ** 20 })),
  ]);
}

function speedUpPoints(result: BenchResult): SpeedUpPoint[] {
  return (result.cpuScaling?.points ?? []).flatMap((point) => [
    { threads: point.threads, target: 'chariot (HTTP)', speedUp: point.chariot.speedUp },
    { threads: point.threads, target: 'quickjs-emscripten (HTTP)', speedUp: point.quickjs.speedUp },
    { threads: point.threads, target: 'raw isolate', speedUp: point.rawIsolate.speedUp },
    { threads: point.threads, target: 'plain Node', speedUp: point.plainNode.speedUp },
    { threads: point.threads, target: 'ideal', speedUp: point.threads },
  ]);
}

export function chartSpec(result: BenchResult): TopLevelSpec {
  const m = result.machine;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `chariot-exec benchmarks (${result.profile} profile, ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC)`,
      subtitle: `${m.cpuModel}, ${m.cores} cores, Node ${m.node}`,
    },
    background: 'white',
    config: { legend: { labelLimit: 240, titleLimit: 300 } },
    hconcat: [
      {
        title: 'Trivial executions (1+2): latency against concurrency',
        width: 420,
        height: 300,
        data: { values: latencyPoints(result) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'concurrency', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'concurrent requests' },
          y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency (ms, log scale)' },
          color: { field: 'target', type: 'nominal', title: 'target' },
          strokeDash: { field: 'percentile', type: 'nominal', title: 'percentile (p50 solid, p99 dashed)', legend: { symbolType: 'stroke', symbolStrokeColor: '#444', symbolStrokeWidth: 2 } },
          detail: { field: 'percentile' },
        },
      },
      {
        title: `CPU-heavy (${result.cpuScaling?.jobs ?? 0} × ${/fib\(\d+\)\s*$/.exec(result.cpuScaling?.program ?? '')?.[0]?.trim() ?? 'fib'}): speed-up against threads`,
        width: 300,
        height: 300,
        data: { values: speedUpPoints(result) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'threads', type: 'quantitative', axis: { tickMinStep: 1 }, title: 'worker threads' },
          y: { field: 'speedUp', type: 'quantitative', title: 'speed-up over 1 thread' },
          color: { field: 'target', type: 'nominal', title: 'code' },
        },
      },
      {
        title: 'Server memory: RSS against awaiting executions of one user',
        width: 300,
        height: 300,
        data: { values: memoryPoints(result) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'executions', type: 'quantitative', title: 'executions running (0: idle)' },
          y: { field: 'rssMiB', type: 'quantitative', scale: { zero: false }, title: 'RSS after a GC (MiB)' },
          color: { field: 'target', type: 'nominal', title: 'build' },
        },
      },
    ],
    resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
  };
}

export async function renderChart(result: BenchResult): Promise<string> {
  const view = new View(parse(compile(chartSpec(result)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

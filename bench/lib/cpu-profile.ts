// Reads the .cpuprofile files that `node --cpu-prof` writes (one per thread) and sums their
// samples: self time per area (a package, a module of ours, a part of Node) and per function.
//
// A sample says where a thread was when the profiler looked, busy or not: on a machine with
// fewer cores than busy threads, a thread that wakes another (a postMessage, a socket write)
// is often taken off its core there, and that wait shows as time in the waking function.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileFile {
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly callFrame: CallFrame }>;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ThreadProfile {
  /** `main`, or `worker <threadId>`. */
  readonly thread: string;
  /** Sampled time in ms, and the part of it not idle. */
  readonly totalMs: number;
  readonly busyMs: number;
  /** Self time in ms, largest first. */
  readonly areas: ReadonlyArray<readonly [name: string, ms: number]>;
  readonly functions: ReadonlyArray<readonly [name: string, ms: number]>;
}

/** Where a script belongs: its npm package, our module, or the part of Node. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName;
  const pkg = /node_modules\/(@[^/]+\/[^/]+|[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?([^/]+).*$/, 'node:$2');
  const ours = /\/dist\/(.*)$/.exec(url);
  return ours ? ours[1]! : url;
}

function sorted(map: Map<string, number>): Array<readonly [string, number]> {
  return [...map].map(([name, us]) => [name, us / 1000] as const).sort((a, b) => b[1] - a[1]);
}

function summarise(file: string, thread: string): ThreadProfile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as ProfileFile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = frames.get(id)!;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      return;
    }
    const area = areaOf(frame.url, frame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = `${frame.functionName || '(anonymous)'} ${area}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  });
  return { thread, totalMs: total / 1000, busyMs: (total - idle) / 1000, areas: sorted(areas), functions: sorted(functions) };
}

/** Every profile in `dir`, the main thread's first (Node names them CPU.<date>.<time>.<pid>.<threadId>.<n>.cpuprofile). */
export function readProfiles(dir: string): ThreadProfile[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => ({ name, threadId: Number(name.split('.').at(-3)) }))
    .sort((a, b) => a.threadId - b.threadId)
    .map(({ name, threadId }) => summarise(join(dir, name), threadId === 0 ? 'main' : `worker ${threadId}`));
}

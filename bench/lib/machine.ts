// What the numbers were measured on: they mean little without it.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';

export interface MachineDescription {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly v8: string;
  /** `ulimit -n` of this process tree: SSE subscribers each hold a descriptor on both ends. */
  readonly openFilesLimit: number;
  /** 1-minute load average when the run started: other work on the machine shows here. */
  readonly loadAverageAtStart: number;
}

function openFilesLimit(): number {
  try {
    const raw = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return raw === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(raw);
  } catch {
    return 0;
  }
}

export function describeMachine(): MachineDescription {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    v8: process.versions.v8,
    openFilesLimit: openFilesLimit(),
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

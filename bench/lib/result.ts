// The shape of bench/results/<timestamp>.json: every figure of a run, with the machine.
import type { AdmissionResult } from '../scenarios/admission.js';
import type { CpuScalingResult } from '../scenarios/cpu-scaling.js';
import type { FanOutResult } from '../scenarios/fan-out.js';
import type { LogLatencyResult } from '../scenarios/log-latency.js';
import type { MemoryResult } from '../scenarios/memory.js';
import type { RedisModeResult } from '../scenarios/redis.js';
import type { ThroughputResult } from '../scenarios/throughput.js';
import type { AgainstBuild } from './builds.js';
import type { MachineDescription } from './machine.js';
import type { ProfileName } from './profile.js';

export interface BenchResult {
  /**
   * 2: scenario 6 (memory) and --against. 3: the QuickJS baseline in scenarios 1 and 4. 4: scenario 7 (Redis mode). 5: scenario 5's
   * refusals for a predicted wait. 6: scenarios 2 and 3 measure WebSocket subscribers beside SSE (`ws`, ratios `ws…VsSse`), and bytes per entry.
   */
  readonly schemaVersion: 6;
  readonly profile: ProfileName;
  /** The command line that produced this file. */
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationS: number;
  readonly machine: MachineDescription;
  /** Where the load generator and the servers ran. */
  readonly setup: string;
  /** The other build measured beside this checkout's (--against), or null. */
  readonly against: Pick<AgainstBuild, 'ref' | 'commit' | 'label' | 'nodeModules' | 'prepareS'> | null;
  /** Each scenario's results; null when left out with --only. */
  readonly throughput: ThroughputResult | null;
  readonly logLatency: LogLatencyResult | null;
  readonly fanOut: FanOutResult | null;
  readonly cpuScaling: CpuScalingResult | null;
  readonly admission: AdmissionResult | null;
  readonly memory: MemoryResult | null;
  readonly redis: RedisModeResult | null;
  /** File names, beside this one, of the terminal table and the chart (null without one). */
  readonly files: { readonly table: string; readonly chart: string | null };
}

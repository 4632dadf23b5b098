// A process's resident memory as the kernel counts it, read from /proc (Linux): now (VmRSS) and
// the most it ever held (VmHWM, the high-water mark). No collection is forced first: this is what
// the machine has to have, whatever the process's heaps would give back if asked.
import { readFileSync } from 'node:fs';

export interface ResidentMemory {
  readonly rssBytes: number;
  /** The most the process has held since it started. */
  readonly peakBytes: number;
}

/** Null where /proc/<pid>/status cannot be read (not Linux, or the process is gone). */
export function residentMemory(pid: number): ResidentMemory | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (field: string): number | undefined => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  };
  const rssBytes = kib('VmRSS');
  const peakBytes = kib('VmHWM');
  return rssBytes === undefined || peakBytes === undefined ? null : { rssBytes, peakBytes };
}

// A copy of an execution held elsewhere, built from its record and log stream in Redis
// (scripts.ts SNAPSHOT) and kept up to date with the stream's items (follower.ts). The SSE
// writer and the result endpoint read it exactly as they read an execution of this instance.
import { Execution } from '../execution.js';
import type { LogLevel, LogRecord } from '../log-buffer.js';
import type { Outcome, ProgressRecord } from '../../worker/protocol.js';
import { lastSeqOf, stateOf, streamId, topOf, type RecordFields, type StreamId } from './record.js';

/** A stream item as Redis sends it: its id and its fields as name/value pairs. */
export type RawItem = readonly [id: string, fields: readonly string[]];

export interface ReplicaLogOptions {
  readonly capacity: number;
  readonly lagBudget: number;
}

export interface Replica {
  readonly execution: Execution;
  /** The newest stream item it reflects: where following goes on from. */
  readonly top: StreamId;
}

function fieldsOf(pairs: readonly string[]): RecordFields {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) fields[pairs[i]!] = pairs[i + 1]!;
  return fields;
}

/** The copy a SNAPSHOT reply describes; undefined for an unknown execution. */
export function replicaOf(reply: unknown, log: ReplicaLogOptions): Replica | undefined {
  if (!Array.isArray(reply)) return undefined;
  const [pairs, items] = reply as [readonly string[], readonly RawItem[]];
  const fields = fieldsOf(pairs);
  const state = stateOf(fields);
  if (state === undefined) return undefined;
  const execution = Execution.restore({ ...state, outcome: undefined }, log);
  // The log first, while it may still be appended to; then the end, if it has one.
  applyItems(execution, items.filter(([id]) => id.endsWith('-0')));
  execution.logs.skipTo(lastSeqOf(fields));
  if (state.outcome !== undefined) execution.finish(state.outcome, state.completedAt);
  return { execution, top: topOf(fields) };
}

/**
 * Applies stream items in order: runs of log entries are appended at once (with their seqs, so a
 * seq missing from the stream is a gap), the start, progress and end as they come.
 */
export function applyItems(execution: Execution, items: readonly RawItem[]): void {
  let run: LogRecord[] = [];
  let runFrom = 0;
  const flush = (): void => {
    if (run.length > 0) execution.logs.appendAt(runFrom, run);
    run = [];
  };
  for (const [text, pairs] of items) {
    const id = streamId(text);
    const fields = fieldsOf(pairs);
    if (id.sub === 0) {
      if (run.length > 0 && id.seq !== runFrom + run.length) flush();
      if (run.length === 0) runFrom = id.seq;
      run.push({ level: fields.l as LogLevel, time: Number(fields.t), message: fields.m ?? '' });
      continue;
    }
    flush();
    if (fields.s !== undefined) execution.markRunning(fields.i, new Date(Number(fields.s)));
    else if (fields.p !== undefined) execution.setProgress(JSON.parse(fields.p) as ProgressRecord, id.seq);
    else if (fields.e !== undefined) {
      execution.logs.skipTo(id.seq);
      execution.finish(JSON.parse(fields.e) as Outcome, new Date(Number(fields.c)));
    }
  }
  flush();
}

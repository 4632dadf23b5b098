// An execution's record in Redis: one hash of strings, written by the instance that holds the
// execution (journal.ts, in the same script as the log entries) and read by any instance to
// build a copy of it (Execution.restore()).
//
//   id owner program created   set once, when it is submitted (ms since the epoch)
//   home claim                 the instance holding it, and its claim: every write carries the
//                              claim, and a write with another one is refused (a fenced owner)
//   status started instance    queued → running (on `instance`, at `started`) → final
//   progress pseq              the latest progress (JSON) and the log's seq when it came
//   outcome completed          how it ended (JSON of the worker's Outcome) and when
//   seq                        the newest log entry's seq
//   top_ms top_sq              the id of the newest item in its log stream
//   cancel                     "1" once a cancel was asked for (by any instance)
//   in_n in_b                  undelivered input: messages no input() waits for, and their UTF-8 bytes
//   in_w                       input() calls of the script that wait for a message (none in the list)
//   in_e                       "1" once the input was ended (its `e` is in the input list)
//   in_off in_got in_asked     the holder's cursors (scripts.ts TAKE_INPUT): list items dropped,
//                              items handed to input() calls, input() calls counted
import type { ExecutionState, ExecutionStatus } from '../execution.js';
import { STATUSES } from '../execution.js';
import type { Outcome, ProgressRecord } from '../../worker/protocol.js';

export type RecordFields = Readonly<Record<string, string>>;

/** A stream item's id, `<ms>-<seq>`: here `<log seq>-<n>`, n = 0 for a log entry. */
export interface StreamId {
  readonly seq: number;
  readonly sub: number;
}

export function streamId(text: string): StreamId {
  const dash = text.indexOf('-');
  return { seq: Number(text.slice(0, dash)), sub: Number(text.slice(dash + 1)) };
}

export function formatStreamId(id: StreamId): string {
  return `${id.seq}-${id.sub}`;
}

function date(ms: string | undefined): Date | undefined {
  return ms === undefined || ms === '' ? undefined : new Date(Number(ms));
}

function json<T>(text: string | undefined): T | undefined {
  return text === undefined || text === '' ? undefined : (JSON.parse(text) as T);
}

/** The newest stream item the record says was written: where a copy follows the log from. */
export function topOf(fields: RecordFields): StreamId {
  return { seq: Number(fields.top_ms ?? '0'), sub: Number(fields.top_sq ?? '0') };
}

/** The seq of the record's newest log entry. */
export function lastSeqOf(fields: RecordFields): number {
  return Number(fields.seq ?? '0');
}

/** The execution a record describes; undefined for a hash that is not one (or a partial one). */
export function stateOf(fields: RecordFields): ExecutionState | undefined {
  const { id, owner, program, created, status } = fields;
  if (id === undefined || owner === undefined || program === undefined || created === undefined) return undefined;
  if (!STATUSES.includes(status as ExecutionStatus)) return undefined;
  return {
    id,
    owner,
    program,
    createdAt: new Date(Number(created)),
    status: status as ExecutionStatus,
    startedAt: date(fields.started),
    instance: fields.instance,
    progress: json<ProgressRecord>(fields.progress),
    progressAfterSeq: Number(fields.pseq ?? '0'),
    outcome: json<Outcome>(fields.outcome),
    completedAt: date(fields.completed),
  };
}

// Assertions on whole GET /api/logs streams: the exact list of events in order with their exact
// framing, and a body that holds nothing but the `retry:` line, those events and pings.
import { expect } from 'chai';
import type { Json } from './client.js';
import { asObject, expectKeys, expectLogEntry, type Level } from './expectations.js';
import type { SseEvent, SseStream } from './sse.js';

/** One event a stream must carry. */
export type ExpectedEvent =
  /** A log entry: `id: <seq>` and data `{seq, timestamp, level, message}` (level INFO unless said). */
  | { readonly seq: number; readonly level?: Level; readonly message: string }
  /** `event: gap` with `{"missed": gap}`, its id the seq of the last entry it stands for. */
  | { readonly gap: number; readonly through: number }
  /** `event: progress` with `{"percent", "message"}`. */
  | { readonly progress: number; readonly message: string }
  /** `event: done` with `{"status"}`. */
  | { readonly done: string };

/** Entries `from`..`to`, each with the message `message(seq)` at `level(seq)` (INFO). */
export function entries(from: number, to: number, message: (seq: number) => string, level: (seq: number) => Level = () => 'INFO'): ExpectedEvent[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => ({ seq: from + i, level: level(from + i), message: message(from + i) }));
}

/** A progress report and its place: reported when entry `after` was the newest. */
export interface PlacedProgress {
  readonly after: number;
  readonly progress: number;
  readonly message: string;
}

/**
 * What a stretch of a stream must be when a slow reader may have been told of gaps on the way:
 * entries and gaps that stand for every seq from `from` to `to` exactly once, in order, each gap
 * counting exactly the seqs between the entries around it (so a gap never follows a gap). Built
 * from where `events` put their gaps, and checked against `events` by `expectEvents`.
 *
 * With `progress`, a report whose place (`after`) lies in the stretch: it comes right after the
 * entry or gap that carries the stretch to its place (a gap may reach beyond it: the server
 * sends the gap over the place first, then the progress). When that entry or gap is the last
 * of `events`, the reader stopped right there (its socket pushed back), and the report may have
 * been replaced by a later one before it read on: then it may be missing.
 */
export function entriesOrGaps(
  events: readonly SseEvent[],
  from: number,
  to: number,
  message: (seq: number) => string,
  progress?: PlacedProgress,
): ExpectedEvent[] {
  const expected: ExpectedEvent[] = [];
  let next = from;
  let placed = progress === undefined;
  /** Expects the progress if the entry or gap just expected carried the stretch to its place. */
  const placeProgress = (more: boolean): boolean => {
    if (placed || next - 1 < progress!.after) return false;
    placed = true;
    if (!more && next > to) return false;
    expected.push({ progress: progress!.progress, message: progress!.message });
    return true;
  };
  for (let i = 0; i < events.length && next <= to; i++) {
    const event = events[i]!;
    const previous = expected.at(-1);
    if (event.event === 'gap' && (previous === undefined || !('gap' in previous))) {
      const missed = Number((JSON.parse(event.data) as { missed?: unknown }).missed);
      if (!Number.isInteger(missed) || missed < 1 || next + missed - 1 > to) break;
      expected.push({ gap: missed, through: next + missed - 1 });
      next += missed;
    } else {
      expected.push({ seq: next, message: message(next) });
      next++;
    }
    // The progress stands for the next event of `events`: step over it.
    if (placeProgress(i < events.length - 1)) i++;
  }
  // Whatever `events` lack is still expected, so a short stream fails on the first missing seq.
  while (next <= to) {
    expected.push({ seq: next, message: message(next) });
    next++;
    placeProgress(false);
  }
  return expected;
}

/** A one-line description, so that a mismatch shows as a readable diff of two lists. */
function describeExpected(expected: ExpectedEvent): string {
  if ('seq' in expected) return `${expected.seq} ${expected.level ?? 'INFO'} ${expected.message}`;
  if ('gap' in expected) return `gap ${expected.gap} through ${expected.through}`;
  if ('progress' in expected) return `progress ${expected.progress} ${expected.message}`;
  return `done ${expected.done}`;
}

function describeActual(event: SseEvent): string {
  let data: Json;
  try {
    data = JSON.parse(event.data) as Json;
  } catch {
    return `${event.event} (data not JSON: ${event.data})`;
  }
  const body = typeof data === 'object' && data !== null && !Array.isArray(data) ? data : {};
  switch (event.event) {
    case 'message':
      return `${String(event.id)} ${String(body.level)} ${String(body.message)}`;
    case 'gap':
      return `gap ${String(body.missed)} through ${String(event.id)}`;
    case 'progress':
      return `progress ${String(body.percent)} ${String(body.message)}`;
    case 'done':
      return `done ${String(body.status)}`;
    default:
      return `${event.event} ${event.data}`;
  }
}

/** A description cut to `max` characters, so a line of a failure stays a line. */
function clip(line: string, max = 60): string {
  return line.length <= max ? line : `${line.slice(0, max)}…(${line.length} chars)`;
}

/** The seq and level of an entry's description ("12 INFO …"), or undefined for other events. */
function entryOf(line: string): { seq: number; level: string } | undefined {
  const match = /^(\d+) ([A-Z]+) /.exec(line);
  return match === null ? undefined : { seq: Number(match[1]), level: match[2]! };
}

/**
 * A list of descriptions in a few lines: consecutive entries of one level as one
 * "entries 1..900 INFO" line, every other event as itself, at most `max` lines.
 */
function outline(lines: readonly string[], max = 24): string[] {
  const runs: string[] = [];
  let run: { from: number; to: number; level: string } | undefined;
  const close = (): void => {
    if (run !== undefined) runs.push(run.from === run.to ? `entry ${run.from} ${run.level}` : `entries ${run.from}..${run.to} ${run.level}`);
    run = undefined;
  };
  for (const line of lines) {
    const entry = entryOf(line);
    if (entry !== undefined && run !== undefined && entry.seq === run.to + 1 && entry.level === run.level) {
      run.to = entry.seq;
      continue;
    }
    close();
    if (entry !== undefined) run = { from: entry.seq, to: entry.seq, level: entry.level };
    else runs.push(clip(line));
  }
  close();
  if (runs.length <= max) return runs;
  const half = Math.floor(max / 2);
  return [...runs.slice(0, half), `… ${runs.length - 2 * half} more …`, ...runs.slice(-half)];
}

/**
 * Fails with a message short enough to read whatever the lengths: where the lists first differ,
 * the events around that place on both sides, and an outline of each.
 */
function expectSameLines(actual: readonly string[], expected: readonly string[], what: string): void {
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  if (at === actual.length && at === expected.length) return;
  const around = (lines: readonly string[]): string =>
    lines
      .slice(Math.max(0, at - 2), at + 3)
      .map((line, i) => `      #${Math.max(0, at - 2) + i + 1}: ${clip(line)}`)
      .join('\n') || '      (nothing)';
  expect.fail(
    [
      `events of ${what} differ from event #${at + 1} on (${actual.length} events, ${expected.length} expected)`,
      `    actual:`,
      around(actual),
      `    expected:`,
      around(expected),
      `    actual, in outline:   ${outline(actual).join(' | ')}`,
      `    expected, in outline: ${outline(expected).join(' | ')}`,
    ].join('\n'),
  );
}

/** Asserts `events` is exactly `expected`, in order, each with its exact framing, and nothing more. */
export function expectEvents(events: readonly SseEvent[], expected: readonly ExpectedEvent[], what = 'the stream'): void {
  expectSameLines(events.map(describeActual), expected.map(describeExpected), what);
  expected.forEach((want, i) => {
    const event = events[i]!;
    const at = `event ${i + 1} of ${what}`;
    if ('seq' in want) {
      expect(event.raw, `framing of ${at}`).to.equal(`id: ${want.seq}\ndata: ${event.data}\n\n`);
      expectLogEntry(JSON.parse(event.data) as Json, want.seq, { level: want.level ?? 'INFO', message: want.message });
    } else if ('gap' in want) {
      expect(event.raw, `framing of ${at}`).to.equal(`id: ${want.through}\nevent: gap\ndata: {"missed":${want.gap}}\n\n`);
    } else if ('progress' in want) {
      const data = asObject(JSON.parse(event.data) as Json, `data of ${at}`);
      expectKeys(data, ['percent', 'message']);
      expect(event.raw, `framing of ${at}`).to.equal(`event: progress\ndata: ${JSON.stringify({ percent: want.progress, message: want.message })}\n\n`);
    } else {
      expect(event.raw, `framing of ${at}`).to.equal(`event: done\ndata: ${JSON.stringify({ status: want.done })}\n\n`);
    }
  });
}

/** Exactly these entries as seq 1..n, in order, each with its framing, then `done` with `status`. */
export function expectEntriesThenDone(
  events: readonly SseEvent[],
  expected: readonly { readonly level?: Level; readonly message: string }[],
  status: string,
): void {
  expectEvents(events, [...expected.map((entry, i) => ({ seq: i + 1, ...entry })), { done: status }]);
}

/**
 * The whole body is `retry: <retryMs>` once, then exactly the stream's events, with nothing
 * between them but `: ping` comments (none unless `pings` is set).
 */
export function expectBody(stream: SseStream, retryMs: number, options: { readonly pings?: boolean } = {}): void {
  const comments = stream.comments.map((comment) => comment.text);
  if (!options.pings) expect(comments, 'comments').to.eql([]);
  else expect(comments.filter((text) => text !== ' ping'), 'comments other than pings').to.eql([]);
  let body = `retry: ${retryMs}\n\n`;
  stream.events.forEach((event, i) => {
    body += ': ping\n\n'.repeat(stream.comments.filter((comment) => comment.afterEvents === i).length) + event.raw;
  });
  body += ': ping\n\n'.repeat(stream.comments.filter((comment) => comment.afterEvents === stream.events.length).length);
  const text = stream.rawText;
  if (text === body) return;
  let at = 0;
  while (at < text.length && text[at] === body[at]) at++;
  expect.fail(
    `the body is not the retry line, the events and pings, exactly: from character ${at} it has ` +
      `${JSON.stringify(text.slice(at, at + 120))} where ${JSON.stringify(body.slice(at, at + 120))} was expected`,
  );
}

/** Event lists compared on everything a browser's EventSource would see, plus the framing. */
export function summary(events: readonly SseEvent[]): Array<[string, string | undefined, string, string]> {
  return events.map((e) => [e.event, e.id, e.data, e.raw]);
}

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

/**
 * What a stretch of a stream must be when a slow reader may have been told of gaps on the way:
 * entries and gaps that stand for every seq from `from` to `to` exactly once, in order, each gap
 * counting exactly the seqs between the entries around it (so a gap never follows a gap). Built
 * from where `events` put their gaps, and checked against `events` by `expectEvents`.
 */
export function entriesOrGaps(
  events: readonly SseEvent[],
  from: number,
  to: number,
  message: (seq: number) => string,
): ExpectedEvent[] {
  const expected: ExpectedEvent[] = [];
  let next = from;
  for (const event of events) {
    if (next > to) break;
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
  }
  // Whatever `events` lack is still expected, so a short stream fails on the first missing seq.
  for (; next <= to; next++) expected.push({ seq: next, message: message(next) });
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

/** Asserts `events` is exactly `expected`, in order, each with its exact framing, and nothing more. */
export function expectEvents(events: readonly SseEvent[], expected: readonly ExpectedEvent[], what = 'the stream'): void {
  expect(events.map(describeActual), `events of ${what}`).to.eql(expected.map(describeExpected));
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

// The stream assertions the SSE tests rest on (helpers/streams.ts), checked against hand-written
// streams: every shape a reader that fell behind may legitimately be sent passes, and each way
// of getting a gap or a progress report wrong fails, with a message short enough to read.
import { AssertionError, expect } from 'chai';
import { entriesOrGaps, expectEvents, type PlacedProgress } from './helpers/streams.js';
import { SseParser, type SseEvent } from './helpers/sse.js';

const message = (seq: number): string => `entry ${seq}`;

/** A progress report "half" placed after entry 10. */
const HALF: PlacedProgress = { after: 10, progress: 50, message: 'half' };

/**
 * The events of a stream written in short: "3" is entry 3, "3-7" entries 3 to 7, "gap 3-7" one
 * gap for them, "half" the progress report.
 */
function stream(...parts: string[]): SseEvent[] {
  let text = '';
  for (const part of parts) {
    const gap = /^gap (\d+)-(\d+)$/.exec(part);
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (part === 'half') text += `event: progress\ndata: ${JSON.stringify({ percent: 50, message: 'half' })}\n\n`;
    else if (gap !== null) text += `id: ${gap[2]}\nevent: gap\ndata: {"missed":${Number(gap[2]) - Number(gap[1]) + 1}}\n\n`;
    else if (range !== null) {
      for (let seq = Number(range[1]); seq <= Number(range[2] ?? range[1]); seq++) {
        const entry = { seq, timestamp: '2026-01-01T00:00:00.000Z', level: 'INFO', message: message(seq) };
        text += `id: ${seq}\ndata: ${JSON.stringify(entry)}\n\n`;
      }
    } else throw new Error(`not a part of a stream: ${part}`);
  }
  const events: SseEvent[] = [];
  const parser = new SseParser({ event: (event) => events.push(event), comment: () => undefined });
  parser.push(text);
  parser.end();
  return events;
}

/** Asserts the stream is entries and gaps for 1..`to` with "half" in its place. */
function expectStretch(events: readonly SseEvent[], to: number): void {
  expectEvents(events, entriesOrGaps(events, 1, to, message, HALF));
}

describe('test helpers: entriesOrGaps and expectEvents', () => {
  const accepted: Array<[string, string[], number]> = [
    ['every entry, the progress after its place', ['1-10', 'half', '11-20'], 20],
    ['gaps on either side of the progress', ['1-2', 'gap 3-8', '9-10', 'half', 'gap 11-15', '16-20'], 20],
    ['a gap over the place, then the progress', ['1-2', 'gap 3-12', 'half', '13-20'], 20],
    ['a gap over the place, the progress, another gap', ['1-2', 'gap 3-12', 'half', 'gap 13-15', '16-20'], 20],
    ['a reader that stopped at the place before the progress (it was replaced)', ['1-10'], 10],
    ['a reader that stopped right after the progress', ['1-10', 'half'], 10],
    ['a reader that stopped after a gap over the place', ['1-2', 'gap 3-12'], 12],
    ['a reader that stopped before the place', ['1-2', 'gap 3-7'], 7],
    ['a reader that stopped one entry past the progress', ['1-10', 'half', '11'], 11],
  ];
  for (const [what, parts, to] of accepted) {
    it(`accepts ${what}`, () => expectStretch(stream(...parts), to));
  }

  const rejected: Array<[string, string[], number]> = [
    ['no progress where the stretch goes on past its place', ['1-20'], 20],
    ['the progress one entry late', ['1-11', 'half', '12-20'], 20],
    ['the progress one entry early', ['1-9', 'half', '10-20'], 20],
    ['the progress twice', ['1-10', 'half', 'half', '11-20'], 20],
    ['a progress before its place was reached', ['1-5', 'half'], 5],
    ['a gap over the place without the progress', ['1-2', 'gap 3-12', '13-20'], 20],
    ['a gap right after a gap', ['1-2', 'gap 3-8', 'gap 9-12', 'half', '13-20'], 20],
    ['a gap that counts one seq too few', ['1-2', 'gap 3-8', '10', 'half', '11-20'], 20],
    ['a missing entry', ['1-10', 'half', '11-14', '16-20'], 20],
    ['a stream that ends early', ['1-10', 'half', '11-19'], 20],
  ];
  for (const [what, parts, to] of rejected) {
    it(`rejects ${what}`, () => expect(() => expectStretch(stream(...parts), to)).to.throw(AssertionError));
  }

  it('says where a long stream of long entries first differs, and outlines both, in a few lines', () => {
    // 10,000 entries of 8 KB, "half" missing after entry 5000 and two entries gone later.
    const events = stream('1-5000', '5001-7000', '7003-10000');
    const long = (seq: number): string => `entry ${seq} ${'x'.repeat(8192)}`;
    const expected = entriesOrGaps(events, 1, 10_000, message, { after: 5000, progress: 50, message: 'half' });
    const error = (() => {
      try {
        expectEvents(events, expected);
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('expectEvents passed');
    })();
    expect(error).to.be.instanceOf(AssertionError);
    expect(error.message.split('\n')).to.eql([
      'events of the stream differ from event #5001 on (9998 events, 10001 expected)',
      '    actual:',
      '      #4999: 4999 INFO entry 4999',
      '      #5000: 5000 INFO entry 5000',
      '      #5001: 5001 INFO entry 5001',
      '      #5002: 5002 INFO entry 5002',
      '      #5003: 5003 INFO entry 5003',
      '    expected:',
      '      #4999: 4999 INFO entry 4999',
      '      #5000: 5000 INFO entry 5000',
      '      #5001: progress 50 half',
      '      #5002: 5001 INFO entry 5001',
      '      #5003: 5002 INFO entry 5002',
      '    actual, in outline:   entries 1..7000 INFO | entries 7003..10000 INFO',
      '    expected, in outline: entries 1..5000 INFO | progress 50 half | entries 5001..10000 INFO',
    ]);
    // Long messages are cut, so the failure stays short however long the entries are.
    const longEvents = stream('1-3');
    expect(() => expectEvents(longEvents, [1, 2, 3].map((seq) => ({ seq, message: long(seq) })))).to.throw(
      AssertionError,
      /^events of the stream differ from event #1 on \(3 events, 3 expected\)\n[^]{0,1000}$/,
    );
  });
});

// The test client's event-stream parser and stream reader, checked against hand-written byte
// streams, so that the SSE endpoint tests rest on a client that is itself right.
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseParser, SseStream, type SseEvent } from './helpers/sse.js';

interface Parsed {
  events: SseEvent[];
  comments: string[];
  pending: string;
}

function parse(chunks: ReadonlyArray<string | Uint8Array>): Parsed {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const parser = new SseParser({ event: (event) => events.push(event), comment: (text) => comments.push(text) });
  for (const chunk of chunks) parser.push(chunk);
  const pending = parser.end();
  return { events, comments, pending };
}

/** Every split of `bytes` into two chunks, and the byte-by-byte split. */
function splits(text: string): Uint8Array[][] {
  const bytes = new TextEncoder().encode(text);
  const result: Uint8Array[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) result.push([bytes.subarray(0, i), bytes.subarray(i)]);
  result.push([...bytes].map((byte) => Uint8Array.of(byte)));
  return result;
}

function event(data: string, raw: string, extra: Partial<SseEvent> = {}): SseEvent {
  return { event: 'message', id: undefined, lastEventId: '', data, raw, ...extra };
}

const TWO_ENTRIES =
  'id: 1\ndata: {"seq":1,"message":"a"}\n\n' +
  'id: 2\ndata: {"seq":2,"message":"b"}\n\n' +
  'event: done\ndata: {"status":"completed"}\n\n';

const TWO_ENTRIES_EVENTS: SseEvent[] = [
  event('{"seq":1,"message":"a"}', 'id: 1\ndata: {"seq":1,"message":"a"}\n\n', { id: '1', lastEventId: '1' }),
  event('{"seq":2,"message":"b"}', 'id: 2\ndata: {"seq":2,"message":"b"}\n\n', { id: '2', lastEventId: '2' }),
  event('{"status":"completed"}', 'event: done\ndata: {"status":"completed"}\n\n', { event: 'done', lastEventId: '2' }),
];

describe('SseParser', () => {
  it('parses id, data and event fields into events, keeping each block\'s exact text', () => {
    expect(parse([TWO_ENTRIES])).to.eql({ events: TWO_ENTRIES_EVENTS, comments: [], pending: '' });
  });

  it('gives the same events however the bytes are split into chunks', () => {
    for (const chunks of splits(TWO_ENTRIES)) {
      const at = chunks.map((chunk) => chunk.length).join('+');
      expect(parse(chunks), `chunks of ${at} bytes`).to.eql({ events: TWO_ENTRIES_EVENTS, comments: [], pending: '' });
    }
  });

  it('waits for the blank line when a chunk ends mid-line or between the two newlines', () => {
    const events: SseEvent[] = [];
    const parser = new SseParser({ event: (e) => events.push(e), comment: () => undefined });
    parser.push('id: 7\nda');
    expect(events).to.eql([]);
    parser.push('ta: x\n');
    expect(events, 'after the first newline only').to.eql([]);
    expect(parser.pending).to.equal('id: 7\ndata: x\n');
    parser.push('\n');
    expect(events).to.eql([event('x', 'id: 7\ndata: x\n\n', { id: '7', lastEventId: '7' })]);
    expect(parser.pending).to.equal('');
  });

  it('joins several data lines with a newline', () => {
    expect(parse(['data: a\ndata: b\ndata:\n\n']).events).to.eql([event('a\nb\n', 'data: a\ndata: b\ndata:\n\n')]);
  });

  it('removes exactly one space after the colon, and treats a line without colon as a field with an empty value', () => {
    expect(parse(['data:x\n\ndata:  y\n\ndata\n\n']).events).to.eql([
      event('x', 'data:x\n\n'),
      event(' y', 'data:  y\n\n'),
      event('', 'data\n\n'),
    ]);
  });

  it('records comment lines and dispatches nothing for a comment-only block', () => {
    expect(parse([': ping\n\n:\n\n'])).to.eql({ events: [], comments: [' ping', ''], pending: '' });
  });

  it('keeps a comment inside a block out of the event but in its raw text', () => {
    expect(parse(['data: a\n: hi\ndata: b\n\n'])).to.eql({
      events: [event('a\nb', 'data: a\n: hi\ndata: b\n\n')],
      comments: [' hi'],
      pending: '',
    });
  });

  it('dispatches nothing for a block without data, but keeps its id as the last event id', () => {
    expect(parse(['id: 5\n\nevent: lost\n\ndata: z\n\n']).events).to.eql([event('z', 'data: z\n\n', { lastEventId: '5' })]);
  });

  it('resets the event type after each block', () => {
    expect(parse(['event: done\ndata: 1\n\ndata: 2\n\n']).events.map((e) => e.event)).to.eql(['done', 'message']);
  });

  it('ignores an id containing NUL and unknown fields; parses retry only when all digits', () => {
    const events: SseEvent[] = [];
    const parser = new SseParser({ event: (e) => events.push(e), comment: () => undefined });
    parser.push('id: 3\n\nid: 4\0x\nfoo: bar\nretry: 12a\ndata: q\n\n');
    expect(parser.retry).to.equal(undefined);
    parser.push('retry: 2000\n\n');
    parser.end();
    expect(events).to.eql([event('q', 'id: 4\0x\nfoo: bar\nretry: 12a\ndata: q\n\n', { lastEventId: '3' })]);
    expect(parser.retry).to.equal(2000);
  });

  it('accepts CRLF and CR line ends, also when a CRLF is split across chunks', () => {
    const text = 'data: a\r\ndata: b\r\r\ndata: c\n\r';
    // "data: b" ends with CR, then CRLF ends a blank line; the final CR ends a blank line too.
    const expected = [event('a\nb', 'data: a\r\ndata: b\r\r\n'), event('c', 'data: c\n\r')];
    for (const chunks of splits(text)) {
      const at = chunks.map((chunk) => chunk.length).join('+');
      expect(parse(chunks).events, `chunks of ${at} bytes`).to.eql(expected);
    }
  });

  it('decodes UTF-8 split inside a character', () => {
    for (const chunks of splits('data: é€😀\n\n')) {
      expect(parse(chunks).events).to.eql([event('é€😀', 'data: é€😀\n\n')]);
    }
  });

  it('strips one byte order mark at the start of the stream, even when split', () => {
    for (const chunks of splits('\uFEFFdata: a\n\n')) {
      expect(parse(chunks).events).to.eql([event('a', 'data: a\n\n')]);
    }
    expect(parse(['data: \uFEFFa\n\n']).events[0]?.data, 'a BOM later is data').to.equal('\uFEFFa');
  });

  it('discards an unfinished block at the end of the stream and reports it as pending', () => {
    expect(parse(['data: a\n\ndata: b\n'])).to.eql({ events: [event('a', 'data: a\n\n')], comments: [], pending: 'data: b\n' });
    expect(parse(['data: a\n\ndata: b']).pending).to.equal('data: b');
  });
});

describe('SseStream', () => {
  let server: Server;
  let url = '';
  let respond: (res: ServerResponse) => void = () => undefined;

  before(async () => {
    server = createServer((_req, res) => respond(res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  function head(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
  }

  it('records status, headers, events, comments and the raw bytes, and resolves untilDone after the end', async () => {
    const body = ': hi\n\nid: 1\ndata: {"n":1}\n\nevent: done\ndata: {"status":"completed"}\n\n';
    respond = (res) => {
      head(res);
      // Written in pieces that split a line and the blank line.
      res.write(body.slice(0, 9));
      res.write(body.slice(9, 22));
      setImmediate(() => res.end(body.slice(22)));
    };
    const stream = await SseStream.open(url);
    expect(stream.status).to.equal(200);
    expect(stream.headers['content-type']).to.equal('text/event-stream');
    const events = await stream.untilDone();
    expect(events.map((e) => [e.event, e.id, e.data])).to.eql([
      ['message', '1', '{"n":1}'],
      ['done', undefined, '{"status":"completed"}'],
    ]);
    expect(stream.comments).to.eql([{ text: ' hi', afterEvents: 0 }]);
    expect(stream.rawText).to.equal(body);
    expect(stream.endedCleanly).to.equal(true);
  });

  it('resolves nthEvent as soon as the n-th event arrives, while the stream is open', async () => {
    let finish: () => void = () => undefined;
    respond = (res) => {
      head(res);
      res.write('data: a\n\ndata: b\n\n');
      finish = () => res.end('event: done\ndata: {}\n\n');
    };
    const stream = await SseStream.open(url);
    const second = await stream.nthEvent(2);
    expect(second.data).to.equal('b');
    expect(stream.closed).to.equal(false);
    finish();
    expect((await stream.untilDone()).length).to.equal(3);
  });

  it('rejects untilDone when an event follows done', async () => {
    respond = (res) => {
      head(res);
      res.end('event: done\ndata: {}\n\ndata: late\n\n');
    };
    const stream = await SseStream.open(url);
    const error = await stream.untilDone().then(() => undefined, (e: unknown) => e);
    expect(String(error)).to.match(/events arrived after 'done'/);
  });

  it('rejects untilDone when a comment or a partial line follows done', async () => {
    respond = (res) => {
      head(res);
      res.end('event: done\ndata: {}\n\n: ping\n\n');
    };
    const first = await SseStream.open(url);
    expect(String(await first.untilDone().then(() => undefined, (e: unknown) => e))).to.match(/comments arrived after 'done'/);
    respond = (res) => {
      head(res);
      res.end('event: done\ndata: {}\n\ndata: x');
    };
    const second = await SseStream.open(url);
    expect(String(await second.untilDone().then(() => undefined, (e: unknown) => e))).to.match(/bytes arrived after 'done'/);
  });

  it('rejects untilDone when the stream stays open after done', async () => {
    let hold: ServerResponse | undefined;
    respond = (res) => {
      head(res);
      res.write('event: done\ndata: {}\n\n');
      hold = res;
    };
    const stream = await SseStream.open(url);
    const error = await stream.untilDone().then(() => undefined, (e: unknown) => e);
    expect(String(error)).to.match(/still open 2000 ms after its 'done' event/);
    hold?.end();
    stream.close();
  });

  it('rejects untilDone when the stream ends without done, naming what arrived', async () => {
    respond = (res) => {
      head(res);
      res.end('data: only\n\n');
    };
    const stream = await SseStream.open(url);
    const error = await stream.untilDone().then(() => undefined, (e: unknown) => e);
    expect(String(error)).to.match(/stream closed before a 'done' event .*message:only/);
  });

  it('reads a non-stream answer whole with text()', async () => {
    respond = (res) => {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"error":"Execution not found"}');
    };
    const stream = await SseStream.open(url);
    expect(stream.status).to.equal(404);
    expect(await stream.text()).to.equal('{"error":"Execution not found"}');
    expect(stream.events).to.eql([]);
  });
});

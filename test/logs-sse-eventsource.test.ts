// GET /api/logs/:execId read by a real EventSource client (the `eventsource` package, which
// follows the WHATWG reconnection rules) whose connection is cut twice while the script runs.
import { expect } from 'chai';
import { EventSource } from 'eventsource';
import { submit } from './helpers/executions.js';
import { headerOf, TcpRelay } from './helpers/relay.js';
import { useServer } from './helpers/server.js';

interface Received {
  readonly type: string;
  readonly lastEventId: string;
  readonly data: string;
}

describe('GET /api/logs/:execId to an EventSource that loses its connection', () => {
  // A short retry: the client waits this long before each reconnection.
  const server = useServer({ CHARIOT_SSE_RETRY_MS: '20' });

  it('reconnects with Last-Event-ID each time, and over all its connections gets seq 1..N exactly once, in order, then done', async () => {
    const alice = await server.login('alice');
    const cookie = alice.cookieHeader!;
    const LAST = 60;
    const CUT_AFTER = [10, 30];
    const id = await submit(alice, `for (let i = 1; i <= ${LAST}; i++) { logPrint("tick " + i); await sleep(10); } ${LAST}`);
    const relay = await TcpRelay.start(server.url);
    const received: Received[] = [];
    const lastIdAtError: string[] = [];
    const es = new EventSource(`${relay.url}/api/logs/${id}`, {
      // What a browser does with its cookie jar: the session cookie on every (re)connection.
      fetch: (url, init) => fetch(url, { ...init, headers: { ...init.headers, cookie } }),
    });
    try {
      const done = await new Promise<Received>((resolve, reject) => {
        const record = (event: MessageEvent): Received => {
          const item = { type: event.type, lastEventId: event.lastEventId, data: String(event.data) };
          received.push(item);
          return item;
        };
        es.addEventListener('message', (event) => {
          record(event);
          // A network drop in the middle of the run: both sides of the connection go away.
          if (CUT_AFTER.includes(received.length)) relay.cut();
        });
        es.addEventListener('gap', (event) => void record(event));
        es.addEventListener('progress', (event) => void record(event));
        es.addEventListener('done', (event) => {
          es.close();
          resolve(record(event));
        });
        es.addEventListener('error', () => {
          lastIdAtError.push(received.at(-1)?.lastEventId ?? '');
          if (lastIdAtError.length > CUT_AFTER.length) reject(new Error(`more errors than cuts: ${JSON.stringify(lastIdAtError)}`));
        });
      });
      // (eventsource 4 gives each event its own id as lastEventId: none for done.)
      expect({ type: done.type, data: done.data }).to.eql({ type: 'done', data: '{"status":"completed"}' });
    } finally {
      es.close();
      await relay.close();
    }

    const entries = received.filter((item) => item.type === 'message');
    expect(received.length, 'nothing but entries and done').to.equal(entries.length + 1);
    expect(entries.map((item) => item.lastEventId), 'ids over all connections').to.eql(
      Array.from({ length: LAST }, (_, i) => String(i + 1)),
    );
    entries.forEach((item, i) => {
      const data = JSON.parse(item.data) as { seq: number; level: string; message: string };
      expect({ seq: data.seq, level: data.level, message: data.message }).to.eql({ seq: i + 1, level: 'INFO', message: `tick ${i + 1}` });
    });
    // One connection, then one per cut, each reconnection carrying the id of the last entry
    // the client had when its connection failed.
    expect(lastIdAtError.length, 'errors (one per cut)').to.equal(CUT_AFTER.length);
    lastIdAtError.forEach((lastId, i) => expect(Number(lastId), `last id at cut ${i + 1}`).to.be.at.least(CUT_AFTER[i]!));
    expect(relay.requests.map((head) => head.split('\r\n')[0]), 'request lines').to.eql(
      Array.from({ length: 1 + CUT_AFTER.length }, () => `GET /api/logs/${id} HTTP/1.1`),
    );
    expect(relay.requests.map((head) => headerOf(head, 'last-event-id')), 'Last-Event-ID of each request').to.eql([undefined, ...lastIdAtError]);
  });
});

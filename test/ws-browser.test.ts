// GET /api/ws from a real browser (Debian's Chromium through playwright-core), because the
// `ws` client of ws.test.ts sends whatever headers a test gives it and a browser does not: here
// the browser sends the session cookie and the Origin itself. A page of the server's origin
// runs executions over one socket (one and two at a time) and survives a bad frame; a page of
// another origin of the same site, which Chromium gives alice's SameSite=Lax cookie, cannot
// open a socket (cross-site WebSocket hijacking), nor can a browser that never logged in.
// The browser reaches the server only through a recording relay, which shows what was really
// sent and answered on each handshake.
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { launchBrowser, takePageErrors, type TestBrowser } from './helpers/browser.js';
import type { Json } from './helpers/client.js';
import { asArray, asObject } from './helpers/expectations.js';
import { HandshakeRelay, type Exchange } from './helpers/handshake-relay.js';
import { headerOf } from './helpers/relay.js';
import { healthWhen, PASSWORDS, useServer, type User } from './helpers/server.js';
import { entry, shape, type Message } from './helpers/ws.js';

/** What a page's WebSocket reported, in order. */
type SocketEvent =
  | { readonly event: 'open' }
  | { readonly event: 'error' }
  | { readonly event: 'message'; readonly data: Message }
  | { readonly event: 'close'; readonly code: number; readonly clean: boolean };

interface Run {
  readonly ref: string;
  readonly program: string;
  /** Whether the page subscribes to the execution as soon as its `started` arrives. */
  readonly subscribe: boolean;
}

interface Plan {
  /** A frame sent first, before any run; its answer is awaited. */
  readonly badFrame?: string;
  readonly runs: readonly Run[];
}

/** The ref of the last message of every conversation: an unsubscribe of the first run's execution. */
const END_REF = 'end';

/**
 * Runs in the page: opens ws://<the page's host>/api/ws, sends `badFrame` (and waits for its
 * answer), then each run; subscribes to those that ask as their `started` arrives; waits for
 * each subscribed execution's `done` (or the others' `started`); then sends an unsubscribe of
 * the first run's execution (answered NOT_SUBSCRIBED, since a stream ends at its done), a
 * barrier behind which anything the server still had for the socket would have arrived; and
 * closes the socket with 1000. Returns every event of the socket.
 */
function converse(plan: Plan & { readonly endRef: string }): Promise<SocketEvent[]> {
  const events: SocketEvent[] = [];
  const ids = new Map<string, string>();
  const waiters = new Set<() => void>();
  let closed = false;
  const notify = (): void => {
    for (const check of [...waiters]) check();
  };
  const messages = (): Message[] => events.flatMap((e) => (e.event === 'message' ? [e.data] : []));
  const until = (what: string, test: () => boolean): Promise<void> => new Promise((resolve, reject) => {
    const check = (): void => {
      if (test()) {
        waiters.delete(check);
        resolve();
      } else if (closed) {
        waiters.delete(check);
        reject(new Error(`the socket closed before ${what}: ${JSON.stringify(events)}`));
      }
    };
    waiters.add(check);
    check();
  });
  const ws = new WebSocket(`ws://${location.host}/api/ws`);
  ws.onopen = () => {
    events.push({ event: 'open' });
    notify();
  };
  ws.onerror = () => events.push({ event: 'error' });
  ws.onclose = (close) => {
    closed = true;
    events.push({ event: 'close', code: close.code, clean: close.wasClean });
    notify();
  };
  ws.onmessage = (frame) => {
    const data = JSON.parse(String(frame.data)) as Message;
    events.push({ event: 'message', data });
    const run = plan.runs.find((r) => r.ref === data.ref);
    if (data.type === 'started' && run !== undefined) {
      ids.set(run.ref, String(data.execution_id));
      if (run.subscribe) ws.send(JSON.stringify({ type: 'subscribe', execution_id: data.execution_id }));
    }
    notify();
  };
  const ended = (run: Run): boolean => {
    const id = ids.get(run.ref);
    return id !== undefined && (!run.subscribe || messages().some((m) => m.type === 'done' && m.execution_id === id));
  };
  return (async () => {
    await until('open', () => events.some((e) => e.event === 'open'));
    if (plan.badFrame !== undefined) {
      ws.send(plan.badFrame);
      await until('the bad frame was answered', () => messages().length > 0);
    }
    for (const run of plan.runs) ws.send(JSON.stringify({ type: 'run', ref: run.ref, program: run.program }));
    await until('every run ended', () => plan.runs.every(ended));
    ws.send(JSON.stringify({ type: 'unsubscribe', ref: plan.endRef, execution_id: ids.get(plan.runs[0]!.ref) }));
    await until('the last answer', () => messages().some((m) => m.ref === plan.endRef));
    ws.close(1000);
    await until('the close', () => closed);
    return events;
  })();
}

/** `converse` in `page` (a function the page runs cannot see this module's constants). */
function conversation(page: Page, plan: Plan): Promise<SocketEvent[]> {
  return page.evaluate(converse, { ...plan, endRef: END_REF });
}

/** Runs in the page: opens `url` and, should it open, sends a run of `program`; returns the socket's events once it closed. */
function attempt({ url, program }: { url: string; program: string }): Promise<SocketEvent[]> {
  return new Promise((resolve) => {
    const events: SocketEvent[] = [];
    const ws = new WebSocket(url);
    ws.onopen = () => {
      events.push({ event: 'open' });
      ws.send(JSON.stringify({ type: 'run', ref: 'hijack', program }));
    };
    ws.onmessage = (frame) => events.push({ event: 'message', data: JSON.parse(String(frame.data)) as Message });
    ws.onerror = () => events.push({ event: 'error' });
    ws.onclose = (close) => {
      events.push({ event: 'close', code: close.code, clean: close.wasClean });
      resolve(events);
    };
  });
}

/** The messages of a conversation that opened and was closed by the page with 1000, each checked apart. */
function messagesOf(events: readonly SocketEvent[]): Message[] {
  expect(events[0], JSON.stringify(events)).to.eql({ event: 'open' });
  expect(events.at(-1), JSON.stringify(events)).to.eql({ event: 'close', code: 1000, clean: true });
  const middle = events.slice(1, -1);
  expect(middle.every((e) => e.event === 'message'), `only messages between open and close: ${JSON.stringify(events)}`).to.equal(true);
  return middle.flatMap((e) => (e.event === 'message' ? [e.data] : []));
}


function done(id: string, value: Json, type: string): Message {
  return { type: 'done', execution_id: id, status: 'completed', result: { value, type } };
}

/** The answer to the closing unsubscribe of a conversation. */
function notSubscribed(id: string): Message {
  return { type: 'error', ref: END_REF, execution_id: id, code: 'NOT_SUBSCRIBED', error: 'This socket is not subscribed to this execution' };
}

/** The execution id of the `started` answering `ref`. */
function startedId(messages: readonly Message[], ref: string): string {
  const started = messages.find((m) => m.type === 'started' && m.ref === ref);
  expect(started, `started for ${ref} in ${JSON.stringify(messages)}`).to.not.equal(undefined);
  return String(started!.execution_id);
}

/** A program that would leave a trace in alice's history if it ever ran. */
const HIJACK = 'logPrint(1337); 1';

const COOKIE = /(?:^|;\s*)chariot\.sid=/;

/** A plain HTTP server for the page of another origin: an empty page, whatever the path. */
async function startPageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>elsewhere</title><p>A page of another origin of the same site.');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('WebSocket /api/ws from a browser (Chromium)', function () {
  this.timeout(60_000);
  const server = useServer();
  let browser: TestBrowser;
  let relay: HandshakeRelay;
  let elsewhere: { server: Server; origin: string };
  const pages: Page[] = [];

  before(async () => {
    relay = await HandshakeRelay.start(server.url);
    elsewhere = await startPageServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await relay?.close();
    elsewhere?.server.closeAllConnections();
    elsewhere?.server.close();
  });
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
    expect(takePageErrors().map(String), 'uncaught errors in the pages').to.eql([]);
  });

  /** A page of a context of its own on the server's origin (the relay's, for the browser), logged in as `user` from the page when given. */
  async function pageOnServer(user?: User): Promise<Page> {
    const page = await browser.newPage();
    pages.push(page);
    await page.goto(`${relay.url}/`);
    if (user === undefined) return page;
    const answer = await page.evaluate(async ({ username, password }) => {
      const res = await fetch('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
      return { status: res.status, body: await res.json() as Json };
    }, { username: user, password: PASSWORDS[user] });
    expect(answer, `login of ${user} from the page`).to.eql({ status: 200, body: { username: user } });
    return page;
  }

  /** The WebSocket handshakes the relay carried from exchange `from` on. */
  function handshakes(from: number): Exchange[] {
    return relay.exchanges.slice(from).filter((exchange) => exchange.request?.startsWith('GET /api/ws ') === true);
  }

  /** The one handshake since `from`: what it carried (cookie? Origin) and the answer's status line and body. */
  function onlyHandshake(from: number): { cookieSent: boolean; origin: string | undefined; status: string | undefined; body: Json } {
    const seen = handshakes(from);
    expect(seen.length, `one handshake: ${JSON.stringify(seen)}`).to.equal(1);
    const [{ request, response, body }] = seen as [Exchange];
    return {
      cookieSent: COOKIE.test(headerOf(request!, 'cookie') ?? ''),
      origin: headerOf(request!, 'origin'),
      status: response?.split('\r\n')[0],
      body: body === '' ? null : JSON.parse(body) as Json,
    };
  }

  /** The ids of the page's user's executions, as the page's own session sees them. */
  async function executionIds(page: Page): Promise<Json[]> {
    const answer = await page.evaluate(async () => {
      const res = await fetch('/api/executions?limit=1000');
      return { status: res.status, body: await res.json() as Json };
    });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    return asArray(answer.body).map((item) => asObject(item).execution_id ?? null);
  }

  describe('a page of the server\'s origin', () => {
    it('runs, gets started with its ref, subscribes, and gets every entry, the progress in its place and done with the result, once each, in order', async () => {
      const page = await pageOnServer('alice');
      const first = relay.exchanges.length;
      const events = await conversation(page, {
        runs: [{ ref: 'mine', program: 'logPrint("a"); console.warn("b"); progress(50, "half"); console.error("c"); ({ n: 3 })', subscribe: true }],
      });
      const messages = messagesOf(events);
      const id = startedId(messages, 'mine');
      expect(messages.map(shape)).to.eql([
        { type: 'started', ref: 'mine', execution_id: id },
        entry(id, 1, 'INFO', 'a'),
        entry(id, 2, 'WARN', 'b'),
        { type: 'progress', execution_id: id, percent: 50, message: 'half' },
        entry(id, 3, 'ERROR', 'c'),
        done(id, { n: 3 }, 'object'),
        notSubscribed(id),
      ]);
      expect(onlyHandshake(first), 'the handshake on the wire').to.eql({ cookieSent: true, origin: relay.url, status: 'HTTP/1.1 101 Switching Protocols', body: null });
    });

    it('carries two executions on the one socket, each whole and in order', async () => {
      const page = await pageOnServer('alice');
      const first = relay.exchanges.length;
      const program = (name: string): string =>
        `for (let i = 1; i <= 5; i++) { logPrint("${name}" + i); if (i === 3) progress(60, "${name}3"); await sleep(5); } "${name}"`;
      const events = await conversation(page, {
        runs: [{ ref: 'x', program: program('x'), subscribe: true }, { ref: 'y', program: program('y'), subscribe: true }],
      });
      const messages = messagesOf(events);
      const ids = { x: startedId(messages, 'x'), y: startedId(messages, 'y') };
      expect(messages.at(-1)).to.eql(notSubscribed(ids.x));
      for (const [name, id] of Object.entries(ids)) {
        const about = messages.slice(0, -1).filter((m) => m.execution_id === id).map(shape);
        expect(about, name).to.eql([
          { type: 'started', ref: name, execution_id: id },
          ...[1, 2, 3].map((n) => entry(id, n, 'INFO', `${name}${n}`)),
          { type: 'progress', execution_id: id, percent: 60, message: `${name}3` },
          ...[4, 5].map((n) => entry(id, n, 'INFO', `${name}${n}`)),
          done(id, name, 'string'),
        ]);
      }
      expect(messages.length, 'nothing but the two streams and the last answer').to.equal(2 * 8 + 1);
      expect(onlyHandshake(first), 'one socket for both').to.eql({ cookieSent: true, origin: relay.url, status: 'HTTP/1.1 101 Switching Protocols', body: null });
    });

    it('answers a frame that is not JSON with BAD_JSON, and the socket goes on working', async () => {
      const page = await pageOnServer('alice');
      const events = await conversation(page, { badFrame: '{"type":', runs: [{ ref: 'after', program: '21 * 2', subscribe: false }] });
      const messages = messagesOf(events);
      const id = startedId(messages, 'after');
      expect(messages).to.eql([
        { type: 'error', code: 'BAD_JSON', error: 'A message must be one JSON object: Unexpected end of JSON input' },
        { type: 'started', ref: 'after', execution_id: id },
        notSubscribed(id),
      ]);
    });
  });

  describe('refused handshakes', () => {
    it('refuses with 403 a page of another origin of the same site, which Chromium gives alice\'s cookie: it never opens, and nothing ran', async () => {
      const page = await pageOnServer('alice');
      const before = await executionIds(page);
      await healthWhen(server, (body) => body.websockets === 0);
      const first = relay.exchanges.length;
      const evil = await page.context().newPage();
      const evilErrors: Error[] = [];
      evil.on('pageerror', (error) => evilErrors.push(error));
      await evil.goto(`${elsewhere.origin}/`);
      const events = await evil.evaluate(attempt, { url: `${relay.url.replace(/^http/, 'ws')}/api/ws`, program: HIJACK });
      await evil.close();
      expect(evilErrors.map(String), 'uncaught errors in the page of the other origin').to.eql([]);
      expect(events, 'what the page saw').to.eql([{ event: 'error' }, { event: 'close', code: 1006, clean: false }]);
      expect(onlyHandshake(first), 'the handshake on the wire').to.eql({
        cookieSent: true,
        origin: elsewhere.origin,
        status: 'HTTP/1.1 403 Forbidden',
        body: {
          error: `Cross-origin request refused: Origin "${elsewhere.origin}" is neither this server's origin nor in CHARIOT_ALLOWED_ORIGINS`,
          code: 'CROSS_ORIGIN',
        },
      });
      expect(await executionIds(page), 'alice\'s executions, as her own page sees them').to.eql(before);
      const health = await healthWhen(server, (body) => body.websockets === 0);
      expect(asObject(health.body).websockets).to.equal(0);
    });

    it('refuses with 401 a browser that never logged in: it never opens', async () => {
      const page = await pageOnServer();
      const first = relay.exchanges.length;
      const events = await page.evaluate(attempt, { url: `${relay.url.replace(/^http/, 'ws')}/api/ws`, program: HIJACK });
      expect(events, 'what the page saw').to.eql([{ event: 'error' }, { event: 'close', code: 1006, clean: false }]);
      expect(onlyHandshake(first), 'the handshake on the wire').to.eql({
        cookieSent: false,
        origin: relay.url,
        status: 'HTTP/1.1 401 Unauthorized',
        body: { error: 'Unauthorized', code: 'UNAUTHORIZED' },
      });
    });
  });
});

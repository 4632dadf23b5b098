// Cross-site request forgery from a real browser (Debian's Chromium through playwright-core):
// alice logs in through the UI, then opens pages of other origins that try what any web page
// may do without asking: a no-cors fetch with a text/plain JSON body, and form POSTs (one of
// them text/plain, which can carry valid JSON). The session cookie is SameSite=Lax, so the
// browser sends it from a page of the same site on another port (127.0.0.1:<other>: same
// site, other origin), and not from another site (localhost:<other>); the server must refuse
// both, and did nothing: alice's executions are unchanged and she is still logged in as herself.
// The browser reaches the server through a recording HTTP proxy of the test's, which sees
// what the browser really sent (Origin, the cookie) and what the server answered.
import { expect } from 'chai';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Page } from 'playwright-core';
import { launchBrowser, takePageErrors, type TestBrowser } from './helpers/browser.js';
import type { Client, Json } from './helpers/client.js';
import { asArray, asObject } from './helpers/expectations.js';
import { PASSWORDS, useServer } from './helpers/server.js';

/** A program that would leave a trace in alice's history if it ever ran. */
const PROGRAM = 'logPrint(1337); 1';

/** Form POSTs a page may send anywhere: a text/plain form whose name and value join into JSON, and urlencoded ones. */
const FORMS: Readonly<Record<string, { path: string; enctype: string; fields: string }>> = {
  'execute-text': {
    path: '/api/execute-async',
    enctype: 'text/plain',
    fields: `<input type="hidden" name='{"program":"${PROGRAM}","x":"' value='"}'>`,
  },
  'execute-form': {
    path: '/api/execute-async',
    enctype: 'application/x-www-form-urlencoded',
    fields: `<input type="hidden" name="program" value="${PROGRAM}">`,
  },
  // Login CSRF: logging the victim in as the attacker's account.
  'login-text': {
    path: '/login',
    enctype: 'text/plain',
    fields: `<input type="hidden" name='{"username":"bob","password":"${PASSWORDS.bob}","x":"' value='"}'>`,
  },
  logout: { path: '/logout', enctype: 'application/x-www-form-urlencoded', fields: '' },
};

function fetchPage(target: string): string {
  const attempt = (path: string, body: string): string => `fetch(${JSON.stringify(target + path)}, {
      method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: { 'Content-Type': 'text/plain' }, body: ${JSON.stringify(body)},
    }).then((res) => res.type, (error) => 'failed: ' + error)`;
  const program = JSON.stringify({ program: PROGRAM });
  return `<!doctype html><title>fetch</title><script>
    window.outcome = Promise.all([${attempt('/api/execute-async', program)}, ${attempt('/api/execute', program)}, ${attempt('/logout', '')}]);
  </script>`;
}

function formPage(target: string, name: string): string {
  const form = FORMS[name]!;
  return `<!doctype html><title>${name}</title>
    <form id="f" method="POST" action="${target}${form.path}" enctype="${form.enctype}">${form.fields}</form>`;
}

/** A plain HTTP server for the other origins' pages: /fetch and /form/<name> (submitted by the test), aimed at `target()`. */
async function startPageServer(target: () => string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://pages').pathname;
    const form = /^\/form\/([\w-]+)$/.exec(path)?.[1];
    const html = path === '/fetch' ? fetchPage(target()) : form !== undefined && form in FORMS ? formPage(target(), form) : undefined;
    res.writeHead(html === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly cookieSent: boolean;
  readonly origin: string | undefined;
  /** The answer's body, parsed when it is JSON. */
  readonly body: Json;
}

interface Recorder {
  readonly server: Server;
  readonly url: string;
  /** One per request, in order of arrival, settled when its answer has ended. */
  readonly seen: Promise<Seen>[];
}

/**
 * An HTTP proxy to `target` that passes every request on as it came (Host included, so the
 * server's own origin is the proxy's) and records each with the server's whole answer.
 */
async function startRecorder(target: string): Promise<Recorder> {
  const { hostname, port } = new URL(target);
  const seen: Promise<Seen>[] = [];
  const server = createServer((req, res) => {
    seen.push(new Promise((resolve) => {
      const upstream = request({ host: hostname, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
        let text = '';
        answer.setEncoding('utf8');
        answer.on('data', (chunk: string) => {
          text += chunk;
        });
        answer.on('end', () => resolve({
          method: req.method ?? '',
          path: new URL(req.url ?? '/', target).pathname,
          status: answer.statusCode ?? 0,
          cookieSent: /(?:^|;\s*)chariot\.sid=/.test(req.headers.cookie ?? ''),
          origin: req.headers.origin,
          body: /json/.test(answer.headers['content-type'] ?? '') ? JSON.parse(text) as Json : null,
        }));
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('cross-site requests from a browser (Chromium)', function () {
  this.timeout(60_000);
  const overrides: Record<string, string> = {};
  let attacker: { server: Server; port: number };
  let trusted: { server: Server; port: number };
  let target = '';
  before(async () => {
    attacker = await startPageServer(() => target);
    trusted = await startPageServer(() => target);
    // A page of the same site on another port that the operator allowed: its requests pass
    // the Origin check, so they show the Content-Type check on its own.
    overrides.CHARIOT_ALLOWED_ORIGINS = `http://127.0.0.1:${trusted.port}`;
  });
  // Registered after the hook above, so that it starts the server with the allowed origin.
  const server = useServer(overrides);
  let browser: TestBrowser;
  let page: Page;
  let alice: Client;
  let recorder: Recorder;

  before(async () => {
    recorder = await startRecorder(server.url);
    target = recorder.url;
    browser = await launchBrowser();
    alice = await server.login('alice');
  });
  after(async () => {
    await browser?.close();
    for (const http of [attacker, trusted, recorder]) {
      http?.server.closeAllConnections();
      http?.server.close();
    }
  });
  beforeEach(async () => {
    page = await browser.newPage();
    await page.goto(target);
    await page.getByRole('textbox', { name: 'Username' }).fill('alice');
    await page.getByRole('textbox', { name: 'Password' }).fill(PASSWORDS.alice);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Signed in as alice').waitFor();
  });
  afterEach(async () => {
    await page.close();
    expect(takePageErrors().map(String), 'uncaught errors in the pages').to.eql([]);
  });

  async function aliceExecutions(): Promise<Json[]> {
    const res = await alice.json('GET', '/api/executions?limit=1000');
    expect(res.status, res.text).to.equal(200);
    return asArray(res.body).map((item) => asObject(item).execution_id ?? null);
  }

  /** The browser's own session, as the server sees it: who /api/me says. */
  async function browserUser(): Promise<Json> {
    const res = await page.context().request.get(`${target}/api/me`);
    return { status: res.status(), body: await res.json() as Json };
  }

  /** Opens the other origin's fetch page and each form page in alice's browser; returns what the page saw and what reached the server. */
  async function attackFrom(pageOrigin: string): Promise<{ seen: Seen[]; fetches: unknown }> {
    const first = recorder.seen.length;
    const evil = await page.context().newPage();
    await evil.goto(`${pageOrigin}/fetch`);
    const fetches = await evil.evaluate('window.outcome');
    for (const [name, form] of Object.entries(FORMS)) {
      await evil.goto(`${pageOrigin}/form/${name}`);
      // The page's own script submits it, as an attacker's page would on load; the browser
      // then shows the server's answer.
      await Promise.all([evil.waitForURL(target + form.path), evil.evaluate('document.getElementById("f").submit()')]);
    }
    await evil.close();
    // The POSTs: a form's answer page also fetches /favicon.ico.
    const seen = await Promise.all(recorder.seen.slice(first));
    return { seen: seen.filter((s) => s.method !== 'GET'), fetches };
  }

  /** The seven POSTs of an attack (three fetches, four forms), each answered `answer(path, form)`. */
  function expectedRequests(cookieSent: boolean, origin: string, answer: (path: string, enctype: string) => [number, Json]): Seen[] {
    const requests: Array<[string, string]> = [
      ['/api/execute-async', 'text/plain'],
      ['/api/execute', 'text/plain'],
      ['/logout', 'text/plain'],
      ...Object.values(FORMS).map((form): [string, string] => [form.path, form.enctype]),
    ];
    return requests.map(([path, enctype]) => {
      const [status, body] = answer(path, enctype);
      return { method: 'POST', path, status, cookieSent, origin, body };
    });
  }

  const sortSeen = (seen: readonly Seen[]): Seen[] => [...seen].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

  const crossOrigin = (origin: string): [number, Json] => [403, {
    error: `Cross-origin request refused: Origin "${origin}" is neither this server's origin nor in CHARIOT_ALLOWED_ORIGINS`,
    code: 'CROSS_ORIGIN',
  }];

  it('refuses with 403 every POST from a page of the same site on another port, which carries alice\'s cookie; nothing ran, she is still herself', async () => {
    const before = await aliceExecutions();
    const origin = `http://127.0.0.1:${attacker.port}`;
    const { seen, fetches } = await attackFrom(origin);
    expect(fetches, 'what the page itself could see of its fetches').to.eql(['opaque', 'opaque', 'opaque']);
    expect(sortSeen(seen)).to.eql(sortSeen(expectedRequests(true, origin, () => crossOrigin(origin))));
    expect(await aliceExecutions()).to.eql(before);
    expect(await browserUser()).to.eql({ status: 200, body: { username: 'alice' } });
  });

  it('refuses with 415 the non-JSON bodies of an allowed origin\'s page, which passes the Origin check with alice\'s cookie; nothing ran', async () => {
    const before = await aliceExecutions();
    const origin = `http://127.0.0.1:${trusted.port}`;
    const { seen } = await attackFrom(origin);
    const notJson = (_path: string, type: string): [number, Json] => [415, {
      error: `Request body must be JSON, sent with Content-Type: application/json (got "${type}")`,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    }];
    expect(sortSeen(seen)).to.eql(sortSeen(expectedRequests(true, origin, notJson)));
    expect(await aliceExecutions()).to.eql(before);
    expect(await browserUser()).to.eql({ status: 200, body: { username: 'alice' } });
  });

  it('refuses with 403 every POST from a page of another site (localhost:<port>), whose requests the browser sends without the Lax cookie', async () => {
    const before = await aliceExecutions();
    const origin = `http://localhost:${attacker.port}`;
    const { seen } = await attackFrom(origin);
    expect(sortSeen(seen)).to.eql(sortSeen(expectedRequests(false, origin, () => crossOrigin(origin))));
    expect(await aliceExecutions()).to.eql(before);
    expect(await browserUser()).to.eql({ status: 200, body: { username: 'alice' } });
  });

  it('still serves the UI\'s own requests: a run from the page on the server\'s origin completes', async () => {
    await page.getByRole('textbox', { name: 'Script editor' }).fill('1 + 41');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('#status[data-status="completed"]').waitFor();
  });
});

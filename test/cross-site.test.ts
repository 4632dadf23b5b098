// Cross-site requests over HTTP (the browser's side is test/cross-site-browser.test.ts): a
// body must say it is JSON (415 otherwise), and a state-changing request whose Origin is
// neither this server's nor in CHARIOT_ALLOWED_ORIGINS is refused (403) before it touches a
// session. Requests with no Origin, as curl and servers send them, stay allowed.
import { expect } from 'chai';
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Client, HttpResult, Json } from './helpers/client.js';
import { asArray, asObject, expectError, expectJson } from './helpers/expectations.js';
import { PASSWORDS, useServer } from './helpers/server.js';

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Json;
}

/** A request with exactly these headers and body (fetch would add a Content-Type to a string body, and forbids Host). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? null : JSON.parse(text) as Json }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const PROGRAM_JSON = JSON.stringify({ program: 'logPrint("ran"); 1' });

function notJson(got: string): string {
  return `Request body must be JSON, sent with Content-Type: application/json (got ${got})`;
}

function crossOrigin(origin: string): string {
  return `Cross-origin request refused: Origin ${JSON.stringify(origin)} is neither this server's origin nor in CHARIOT_ALLOWED_ORIGINS`;
}

describe('cross-site requests', () => {
  const server = useServer({ CHARIOT_ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:5173' });
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  async function aliceExecutions(): Promise<Json[]> {
    const res = await alice.json('GET', '/api/executions?limit=1000');
    expect(res.status, res.text).to.equal(200);
    return asArray(res.body).map((item) => asObject(item).execution_id ?? null);
  }

  describe('Content-Type of request bodies', () => {
    const refused: ReadonlyArray<[string, string]> = [
      ['text/plain', '"text/plain"'],
      ['text/plain;charset=UTF-8', '"text/plain"'],
      ['application/x-www-form-urlencoded', '"application/x-www-form-urlencoded"'],
      ['multipart/form-data; boundary=xyz', '"multipart/form-data"'],
      ['text/json', '"text/json"'],
      ['application/jsonx', '"application/jsonx"'],
      ['application/json-seq', '"application/json-seq"'],
    ];
    for (const endpoint of ['/api/execute-async', '/api/execute']) {
      for (const [type, got] of refused) {
        it(`POST ${endpoint} with a JSON body sent as ${type} answers 415 and runs nothing`, async () => {
          const before = await aliceExecutions();
          const res = await raw(server.url, 'POST', endpoint, { 'content-type': type, cookie: alice.cookieHeader! }, PROGRAM_JSON);
          expect({ status: res.status, type: res.headers['content-type'], body: res.body }).to.eql({
            status: 415,
            type: 'application/json; charset=utf-8',
            body: { error: notJson(got), code: 'UNSUPPORTED_MEDIA_TYPE' },
          });
          expect(await aliceExecutions()).to.eql(before);
        });
      }

      it(`POST ${endpoint} with a body and no Content-Type answers 415 and runs nothing`, async () => {
        const before = await aliceExecutions();
        const res = await raw(server.url, 'POST', endpoint, { cookie: alice.cookieHeader! }, PROGRAM_JSON);
        expect({ status: res.status, body: res.body }).to.eql({ status: 415, body: { error: notJson('none'), code: 'UNSUPPORTED_MEDIA_TYPE' } });
        expect(await aliceExecutions()).to.eql(before);
      });
    }

    it('POST /api/execute with a JSON body in another charset answers 415 (JSON is UTF-8)', async () => {
      const res = await raw(server.url, 'POST', '/api/execute', { 'content-type': 'application/json; charset=iso-8859-1', cookie: alice.cookieHeader! }, PROGRAM_JSON);
      expect({ status: res.status, body: res.body }).to.eql({
        status: 415,
        body: { error: 'A JSON body must be UTF-8 (got charset="iso-8859-1")', code: 'UNSUPPORTED_MEDIA_TYPE' },
      });
    });

    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON; Charset="UTF-8"', 'application/vnd.api+json', 'application/merge-patch+json; charset=utf8']) {
      it(`POST /api/execute accepts ${type}`, async () => {
        const res = await raw(server.url, 'POST', '/api/execute', { 'content-type': type, cookie: alice.cookieHeader! }, PROGRAM_JSON);
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        expect(asObject(res.body).result).to.equal(1);
      });
    }

    it('POST /login with a JSON body sent as text/plain answers 415 and starts no session', async () => {
      const res = await raw(server.url, 'POST', '/login', { 'content-type': 'text/plain' }, JSON.stringify({ username: 'bob', password: PASSWORDS.bob }));
      expect({ status: res.status, body: res.body, cookies: res.headers['set-cookie'] }).to.eql({
        status: 415,
        body: { error: notJson('"text/plain"'), code: 'UNSUPPORTED_MEDIA_TYPE' },
        cookies: undefined,
      });
    });

    it('a POST with no body and no Content-Type is fine (logout, cancel); naming a non-JSON type is 415 even with an empty body', async () => {
      const bob = await server.login('bob');
      expectError(await bob.json('POST', `/api/execution/${randomUUID()}/cancel`), 404, 'Execution not found');
      const emptyForm = await raw(server.url, 'POST', '/logout', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '0', cookie: bob.cookieHeader! });
      expect({ status: emptyForm.status, body: emptyForm.body }).to.eql({
        status: 415,
        body: { error: notJson('"application/x-www-form-urlencoded"'), code: 'UNSUPPORTED_MEDIA_TYPE' },
      });
      expect((await bob.json('GET', '/api/me')).status, 'still logged in').to.equal(200);
      expect((await bob.json('POST', '/logout')).status).to.equal(204);
    });

    it('keeps the answers that come first: 401 without a session, 404 for an unknown path, 405 for a wrong method', async () => {
      expect((await raw(server.url, 'POST', '/api/execute', { 'content-type': 'text/plain' }, PROGRAM_JSON)).body)
        .to.eql({ error: 'Unauthorized', code: 'UNAUTHORIZED' });
      const unknown = await raw(server.url, 'POST', '/nowhere', { 'content-type': 'text/plain' }, PROGRAM_JSON);
      expect({ status: unknown.status, body: unknown.body }).to.eql({ status: 404, body: { error: 'No such endpoint: POST /nowhere', code: 'NOT_FOUND' } });
      const wrong = await raw(server.url, 'PUT', '/api/execute', { 'content-type': 'text/plain', cookie: alice.cookieHeader! }, PROGRAM_JSON);
      expect(wrong.status).to.equal(405);
    });
  });

  describe('Origin of state-changing requests', () => {
    const foreign = 'http://evil.example';

    it('refuses a POST to every route, known or not, with a foreign Origin: 403 JSON, and nothing happened', async () => {
      const before = await aliceExecutions();
      const id = randomUUID();
      for (const [method, path, body] of [
        ['POST', '/api/execute-async', { program: 'logPrint("ran"); 1' }],
        ['POST', '/api/execute', { program: 'logPrint("ran"); 1' }],
        ['POST', `/api/execution/${id}/cancel`, undefined],
        ['POST', '/logout', undefined],
        ['POST', '/nowhere', {}],
        ['PUT', '/api/execute', { program: '1' }],
        ['DELETE', '/login', undefined],
        ['PATCH', '/api/me', {}],
      ] as const) {
        const res: HttpResult = await alice.json(method, path, body, { origin: foreign });
        expectError(res, 403, crossOrigin(foreign), 'CROSS_ORIGIN');
        expect(res.headers.getSetCookie(), `${method} ${path}`).to.eql([]);
        expect(res.headers.get('access-control-allow-origin')).to.equal(null);
      }
      expect(await aliceExecutions()).to.eql(before);
      expect((await alice.json('GET', '/api/me')).body, 'the logout did not happen').to.eql({ username: 'alice' });
    });

    it('refuses a login with a foreign Origin (login CSRF): no session is started, the password is not checked', async () => {
      const client = server.anonymous();
      const res = await client.json('POST', '/login', { username: 'carol', password: PASSWORDS.carol }, { origin: foreign });
      expectError(res, 403, crossOrigin(foreign), 'CROSS_ORIGIN');
      expect(client.cookieHeader).to.equal(undefined);
    });

    it('counts as foreign: another port or scheme of this host, another name for it, "null", a malformed origin', async () => {
      const { port, hostname } = new URL(server.url);
      for (const origin of [
        `http://${hostname}:${Number(port) === 65535 ? 65534 : Number(port) + 1}`,
        `https://${hostname}:${port}`,
        `http://localhost:${port}`,
        'null',
        'not an origin',
        `${server.url}/path`,
        'https://app.example.com.evil.example',
        'http://localhost:5174',
      ]) {
        const res = await alice.json('POST', '/api/execute', { program: '1' }, { origin });
        expectError(res, 403, crossOrigin(origin), 'CROSS_ORIGIN');
      }
    });

    it('accepts this server\'s own origin, any spelling of an allowed one, and no Origin at all (curl, servers)', async () => {
      const { port } = new URL(server.url);
      const variants: ReadonlyArray<Record<string, string>> = [
        { origin: server.url },
        { origin: `http://127.0.0.1:${port}/` },
        { origin: 'https://app.example.com' },
        { origin: 'HTTPS://App.Example.COM:443' },
        { origin: 'http://localhost:5173' },
        {},
      ];
      for (const headers of variants) {
        const res = await alice.json('POST', '/api/execute', { program: '1+1' }, headers);
        expect(res.status, `${JSON.stringify(headers)}: ${res.text}`).to.equal(200);
        expect(asObject(res.body).result).to.equal(2);
      }
    });

    it('takes the own origin from the Host the request reached: Host localhost:<port> with Origin http://localhost:<port> is same-origin', async () => {
      const { port } = new URL(server.url);
      const origin = `http://localhost:${port}`;
      const headers = { 'content-type': 'application/json', cookie: alice.cookieHeader! };
      const same = await raw(server.url, 'POST', '/api/execute', { ...headers, host: `localhost:${port}`, origin }, PROGRAM_JSON);
      expect(same.status, JSON.stringify(same.body)).to.equal(200);
      const other = await raw(server.url, 'POST', '/api/execute', { ...headers, host: `127.0.0.1:${port}`, origin }, PROGRAM_JSON);
      expect({ status: other.status, body: other.body }).to.eql({ status: 403, body: { error: crossOrigin(origin), code: 'CROSS_ORIGIN' } });
    });

    it('serves reads whatever their Origin (they change nothing, and without CORS headers the page cannot read them)', async () => {
      const res = await alice.json('GET', '/api/me', undefined, { origin: foreign });
      expect(res.status).to.equal(200);
      expectJson(res);
      expect(res.body).to.eql({ username: 'alice' });
      expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    });
  });
});

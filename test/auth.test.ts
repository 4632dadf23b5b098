// Sessions: POST /login, POST /logout, GET /api/me, the 401 every /api/* route gives
// without a session, and a new session key at every login (no fixation).
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Client, type HttpResult, type Json } from './helpers/client.js';
import { asObject, expectError, expectJson, expectKeys } from './helpers/expectations.js';
import { useServer } from './helpers/server.js';

describe('sessions: /login, /logout, /api/me', () => {
  const server = useServer();

  function expectLoggedIn(res: HttpResult, username: string): void {
    expect(res.status, res.text).to.equal(200);
    expectJson(res);
    expect(res.body).to.eql({ username });
  }

  it('POST /login with the right password answers 200 {"username"} and an httpOnly, sameSite session cookie', async () => {
    const client = server.anonymous();
    const res = await client.login('alice', 'alice-pw');
    expectLoggedIn(res, 'alice');
    const cookies = res.headers.getSetCookie();
    expect(cookies, 'Set-Cookie headers').to.have.lengthOf.at.least(1);
    for (const cookie of cookies) {
      const attributes = cookie.split(';').slice(1).map((a) => a.trim().toLowerCase());
      expect(attributes, cookie).to.include('httponly');
      expect(attributes.some((a) => a === 'samesite=lax' || a === 'samesite=strict'), `SameSite=Lax|Strict in ${cookie}`).to.equal(true);
    }
    expectLoggedIn(await client.json('GET', '/api/me'), 'alice');
  });

  it('POST /login with a wrong password answers 401 "Invalid credentials" and sets no session', async () => {
    const client = server.anonymous();
    const res = await client.login('alice', 'bob-pw');
    expectError(res, 401, 'Invalid credentials');
    expectError(await client.json('GET', '/api/me'), 401, 'Unauthorized');
  });

  it('POST /login for an unknown user answers exactly as for a wrong password', async () => {
    const client = server.anonymous();
    expectError(await client.login('mallory', 'alice-pw'), 401, 'Invalid credentials');
    expectError(await client.json('GET', '/api/me'), 401, 'Unauthorized');
  });

  it('POST /login is case-sensitive about the password', async () => {
    expectError(await server.anonymous().login('alice', 'ALICE-PW'), 401, 'Invalid credentials');
  });

  it('POST /login with a body that is not JSON answers 400 with an error message', async () => {
    const res = await server.anonymous().rawBody('POST', '/login', '{"username":"alice",', 'application/json');
    expectError(res, 400, /\S/);
  });

  const malformed: ReadonlyArray<[string, Json]> = [
    ['an empty object', {}],
    ['no password', { username: 'alice' }],
    ['no username', { password: 'alice-pw' }],
    ['a number as username', { username: 1, password: 'alice-pw' }],
    ['an array as password', { username: 'alice', password: ['alice-pw'] }],
    ['null fields', { username: null, password: null }],
    ['a JSON array', ['alice', 'alice-pw']],
    ['a JSON string', 'alice:alice-pw'],
  ];
  for (const [what, body] of malformed) {
    it(`POST /login with ${what} answers 400 with an error message and sets no session`, async () => {
      const client = server.anonymous();
      const res = await client.json('POST', '/login', body);
      expectError(res, 400, /\S/);
      expect(client.cookieHeader, 'cookie after a refused login').to.equal(undefined);
    });
  }

  /** The session key (chariot.sid) of a Cookie header. */
  function sessionKey(cookieHeader: string | undefined): string | undefined {
    return /(?:^|;\s*)chariot\.sid=([^;]*)/.exec(cookieHeader ?? '')?.[1];
  }

  /** The Set-Cookie lines of a login that started a session: the key and its signature, 24 h, nothing cleared. */
  function expectNewSessionCookies(res: HttpResult): void {
    const names = res.headers.getSetCookie().map((line) => {
      expect(line, 'a cookie that stays').to.match(/; expires=[^;]+; samesite=lax; httponly$/);
      expect(Date.parse(/expires=([^;]+)/.exec(line)![1]!) - Date.now()).to.be.within(23.9 * 3600_000, 24 * 3600_000);
      return line.slice(0, line.indexOf('='));
    });
    expect(names).to.eql(['chariot.sid', 'chariot.sid.sig']);
  }

  it('POST /login starts a new session: a key planted before it (another user\'s live session) is destroyed, not taken over', async () => {
    // The attacker logs in as bob and gets the key into the victim's browser (a sibling
    // subdomain, a shared machine): the victim's login must not turn it into alice's session.
    const attacker = await server.login('bob');
    const planted = attacker.cookieHeader!;
    const victim = new Client(server.url, planted);
    expectLoggedIn(await victim.json('GET', '/api/me'), 'bob');

    const res = await victim.login('alice', 'alice-pw');
    expectLoggedIn(res, 'alice');
    expectNewSessionCookies(res);
    expect(sessionKey(victim.cookieHeader), 'key after the login').to.be.a('string').and.not.equal(sessionKey(planted));
    expectLoggedIn(await victim.json('GET', '/api/me'), 'alice');

    // The planted key authenticates nobody now: not as alice, and not as bob either.
    expectError(await new Client(server.url, planted).json('GET', '/api/me'), 401, 'Unauthorized');
    expectError(await attacker.json('GET', '/api/me'), 401, 'Unauthorized');
    expectError(await attacker.json('POST', '/api/execute', { program: '1' }), 401, 'Unauthorized');
  });

  it('POST /login in a logged-in session gives a new key each time; the previous one stops working', async () => {
    const client = await server.login('alice');
    const first = client.cookieHeader;
    expectLoggedIn(await client.login('alice', 'alice-pw'), 'alice');
    const second = client.cookieHeader;
    expect(sessionKey(second)).to.be.a('string').and.not.equal(sessionKey(first));
    expectError(await new Client(server.url, first).json('GET', '/api/me'), 401, 'Unauthorized');
    expectLoggedIn(await new Client(server.url, second).json('GET', '/api/me'), 'alice');
  });

  it('a failed POST /login leaves the session it came with as it was: no new cookie, still logged in', async () => {
    const client = await server.login('bob');
    const before = client.cookieHeader;
    const res = await client.login('bob', 'wrong');
    expectError(res, 401, 'Invalid credentials');
    expect(res.headers.getSetCookie()).to.eql([]);
    expect(client.cookieHeader).to.equal(before);
    expectLoggedIn(await client.json('GET', '/api/me'), 'bob');
  });

  it('GET /api/me answers 200 {"username"} with a session', async () => {
    const client = await server.login('bob');
    expectLoggedIn(await client.json('GET', '/api/me'), 'bob');
  });

  it('GET /api/me answers 401 "Unauthorized" for a live session key whose signature was changed by one character', async () => {
    const alice = await server.login('alice');
    const header = alice.cookieHeader!;
    const sig = /chariot\.sid\.sig=([^;]*)/.exec(header)![1]!;
    const changed = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    expectLoggedIn(await alice.json('GET', '/api/me'), 'alice');
    const tampered = new Client(server.url, header.replace(`chariot.sid.sig=${sig}`, `chariot.sid.sig=${changed}`));
    expectError(await tampered.json('GET', '/api/me'), 401, 'Unauthorized');
  });

  it('GET /api/me answers 401 "Unauthorized" without a session, and with a forged cookie', async () => {
    expectError(await server.anonymous().json('GET', '/api/me'), 401, 'Unauthorized');
    const forged = new Client(server.url, 'chariot.sid=forged; chariot.sid.sig=forged; koa.sess=forged');
    expectError(await forged.json('GET', '/api/me'), 401, 'Unauthorized');
  });

  it('POST /logout answers 204 with no body, and then /api/me is 401', async () => {
    const client = await server.login('alice');
    const res = await client.json('POST', '/logout');
    expect(res.status).to.equal(204);
    expect(res.text).to.equal('');
    expectError(await client.json('GET', '/api/me'), 401, 'Unauthorized');
  });

  it('POST /logout clears the session on the server: the cookie captured before it no longer works', async () => {
    const client = await server.login('alice');
    const captured = client.cookieHeader!;
    expect((await client.json('POST', '/logout')).status).to.equal(204);
    expectError(await new Client(server.url, captured).json('GET', '/api/me'), 401, 'Unauthorized');
  });

  it('logging out one session leaves another session of the same user logged in', async () => {
    const first = await server.login('alice');
    const second = await server.login('alice');
    expect((await first.json('POST', '/logout')).status).to.equal(204);
    expectLoggedIn(await second.json('GET', '/api/me'), 'alice');
  });

  describe('every /api/* route without a session answers 401 JSON, never a redirect', () => {
    const id = randomUUID();
    const routes: ReadonlyArray<[string, string, Json | undefined]> = [
      ['POST', '/api/execute', { program: '1+2' }],
      ['POST', '/api/execute-async', { program: '1+2' }],
      ['GET', `/api/logs/${id}`, undefined],
      ['GET', `/api/result/${id}`, undefined],
      ['GET', '/api/executions', undefined],
      ['POST', `/api/execution/${id}/cancel`, undefined],
      ['GET', '/api/me', undefined],
    ];
    for (const [method, path, body] of routes) {
      it(`${method} ${path.replace(id, ':id')}`, async () => {
        expectError(await server.anonymous().json(method, path, body), 401, 'Unauthorized');
      });
    }

    it('GET /api/logs/:id asked for as an event stream still answers 401 JSON, not a stream', async () => {
      const stream = await server.anonymous().sse(`/api/logs/${id}`);
      expect(stream.status).to.equal(401);
      expect(stream.headers['content-type']).to.match(/^application\/json; charset=utf-8$/i);
      const body = asObject(JSON.parse(await stream.text()) as Json);
      expectKeys(body, ['error'], ['code']);
      expect(body.error).to.equal('Unauthorized');
    });
  });
});

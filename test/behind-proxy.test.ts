// Deployment behind a TLS proxy: CHARIOT_TRUST_PROXY makes X-Forwarded-For the client address
// (for the login throttle) and X-Forwarded-Proto/-Host the origin the request reached (for
// secure cookies and the Origin check); CHARIOT_SECURE_COOKIES marks the cookie Secure and
// refuses to log in or out over plain HTTP. Without CHARIOT_TRUST_PROXY those headers are
// anybody's, and ignored.
import { expect } from 'chai';
import { Client, type HttpResult } from './helpers/client.js';
import { expectError, expectJson } from './helpers/expectations.js';
import { PASSWORDS, useServer } from './helpers/server.js';

/** What the proxy adds to a request that reached it as https://chariot.example from `client`. */
const viaTls = (client = '198.51.100.7'): Record<string, string> => ({
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'chariot.example',
  'x-forwarded-for': client,
});

function attributes(setCookie: string): string[] {
  return setCookie.split(';').slice(1).map((attribute) => attribute.trim().toLowerCase());
}

function expectLoggedIn(res: HttpResult, username: string): void {
  expect(res.status, res.text).to.equal(200);
  expectJson(res);
  expect(res.body).to.eql({ username });
}

const HTTPS_REQUIRED = 'This server sends its session cookie over HTTPS only (CHARIOT_SECURE_COOKIES): log in and out over https';

describe('behind a proxy', () => {
  describe('CHARIOT_SECURE_COOKIES=1 and CHARIOT_TRUST_PROXY=1', () => {
    const server = useServer({ CHARIOT_SECURE_COOKIES: '1', CHARIOT_TRUST_PROXY: '1' });

    it('a login through the TLS proxy gets a Secure, httpOnly, SameSite=Lax cookie that works through it', async () => {
      const client = server.anonymous();
      const res = await client.json('POST', '/login', { username: 'alice', password: PASSWORDS.alice }, viaTls());
      expectLoggedIn(res, 'alice');
      const cookies = res.headers.getSetCookie();
      expect(cookies.map((line) => line.slice(0, line.indexOf('=')))).to.eql(['chariot.sid', 'chariot.sid.sig']);
      for (const line of cookies) expect(attributes(line), line).to.include.members(['secure', 'httponly', 'samesite=lax', 'path=/']);
      expectLoggedIn(await client.json('GET', '/api/me', undefined, viaTls()), 'alice');
    });

    for (const [what, headers] of [
      ['straight to the server (no X-Forwarded-Proto)', { 'x-forwarded-for': '198.51.100.8' }],
      ['through the proxy over plain http (X-Forwarded-Proto: http)', { ...viaTls('198.51.100.8'), 'x-forwarded-proto': 'http' }],
    ] as const) {
      it(`refuses a login ${what} with 403 HTTPS_REQUIRED, before checking the password, and sets no cookie`, async () => {
        const client = server.anonymous();
        // More than the throttle's 5 per name: refused before the throttle counts anything.
        for (let i = 0; i < 6; i++) {
          const res = await client.json('POST', '/login', { username: 'bob', password: 'wrong' }, headers);
          expectError(res, 403, HTTPS_REQUIRED, 'HTTPS_REQUIRED');
          expect(res.headers.getSetCookie()).to.eql([]);
        }
        expectLoggedIn(await client.json('POST', '/login', { username: 'bob', password: PASSWORDS.bob }, viaTls('198.51.100.8')), 'bob');
      });
    }

    it('refuses a logout over plain http (the session stays), and logs out through the proxy with a Secure clearing cookie', async () => {
      const client = server.anonymous();
      expectLoggedIn(await client.json('POST', '/login', { username: 'carol', password: PASSWORDS.carol }, viaTls()), 'carol');
      const refused = await client.json('POST', '/logout');
      expectError(refused, 403, HTTPS_REQUIRED, 'HTTPS_REQUIRED');
      expect(refused.headers.getSetCookie()).to.eql([]);
      expectLoggedIn(await client.json('GET', '/api/me', undefined, viaTls()), 'carol');

      const captured = client.cookieHeader;
      const res = await client.json('POST', '/logout', undefined, viaTls());
      expect(res.status).to.equal(204);
      const cleared = res.headers.getSetCookie();
      expect(cleared.map((line) => line.slice(0, line.indexOf('=') + 1))).to.eql(['chariot.sid=', 'chariot.sid.sig=']);
      for (const line of cleared) expect(attributes(line), line).to.include.members(['secure', 'expires=thu, 01 jan 1970 00:00:00 gmt']);
      expectError(await new Client(server.url, captured).json('GET', '/api/me', undefined, viaTls()), 401, 'Unauthorized');
    });
  });

  describe('CHARIOT_TRUST_PROXY=1: the origin is the forwarded one', () => {
    const server = useServer({ CHARIOT_TRUST_PROXY: '1' });

    it('accepts Origin https://chariot.example for a request the proxy forwarded as https://chariot.example', async () => {
      const res = await server.anonymous().json('POST', '/login', { username: 'alice', password: PASSWORDS.alice }, { ...viaTls(), origin: 'https://chariot.example' });
      expectLoggedIn(res, 'alice');
      // No Secure without CHARIOT_SECURE_COOKIES.
      for (const line of res.headers.getSetCookie()) expect(attributes(line), line).not.to.include('secure');
    });

    it('refuses the address the server listens on as Origin when the proxy says the request reached chariot.example', async () => {
      const res = await server.anonymous().json('POST', '/login', { username: 'alice', password: PASSWORDS.alice }, { ...viaTls(), origin: server.url });
      expectError(res, 403, `Cross-origin request refused: Origin "${server.url}" is neither this server's origin nor in CHARIOT_ALLOWED_ORIGINS`, 'CROSS_ORIGIN');
      expect(res.headers.getSetCookie()).to.eql([]);
    });
  });

  describe('without CHARIOT_TRUST_PROXY: X-Forwarded-* are ignored', () => {
    const server = useServer();

    it('does not take X-Forwarded-Proto/-Host for the origin: Origin https://chariot.example is cross-origin', async () => {
      const res = await server.anonymous().json('POST', '/login', { username: 'alice', password: PASSWORDS.alice }, { ...viaTls(), origin: 'https://chariot.example' });
      expectError(res, 403, 'Cross-origin request refused: Origin "https://chariot.example" is neither this server\'s origin nor in CHARIOT_ALLOWED_ORIGINS', 'CROSS_ORIGIN');
    });

    it('does not take X-Forwarded-For for the client address: a new one on every attempt buys no fresh attempts', async () => {
      const attacker = server.anonymous();
      for (let i = 0; i < 20; i++) {
        expectError(await attacker.json('POST', '/login', { username: `spray-${i}`, password: 'x' }, { 'x-forwarded-for': `10.1.0.${i}` }), 401, 'Invalid credentials');
      }
      const res = await attacker.json('POST', '/login', { username: 'spray-20', password: 'x' }, { 'x-forwarded-for': '10.1.0.99' });
      expect(res.status, res.text).to.equal(429);
      expect(res.body).to.eql({ error: `Too many failed logins from this address: try again in ${res.headers.get('retry-after')} s`, code: 'TOO_MANY_LOGIN_ATTEMPTS' });
      expect(Number(res.headers.get('retry-after'))).to.be.within(55, 60);
    });
  });
});

// The failed-login throttle: 5 failures per user name and 20 per client address within a
// minute, then 429 with Retry-After; guesses in parallel cannot overshoot; a success is not
// held up by failures on other names from other addresses; the memory it keeps is bounded.
// The servers here trust one proxy, so that X-Forwarded-For stands for many client addresses.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_TRACKED, LoginThrottle } from '../src/login-throttle.js';
import { TooManyLoginAttemptsError } from '../src/errors.js';
import { Client, type HttpResult } from './helpers/client.js';
import { expectError, expectJson } from './helpers/expectations.js';
import { PASSWORDS, useServer, type User } from './helpers/server.js';

/** POST /login as `username` from client address `address` (the proxy's X-Forwarded-For). */
function loginFrom(client: Client, address: string, username: string, password: string): Promise<HttpResult> {
  return client.json('POST', '/login', { username, password }, { 'x-forwarded-for': address });
}

/** A 429 of the throttle, whole: status, Retry-After within [min, max] seconds, the same number in the message, no cookie. */
function expectThrottled(res: HttpResult, scope: 'for this user name' | 'from this address', min: number, max: number): void {
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter, `Retry-After of ${res.text}`).to.be.a('number').and.to.be.within(min, max);
  expect(res.headers.get('retry-after')).to.equal(String(retryAfter));
  expectError(res, 429, `Too many failed logins ${scope}: try again in ${retryAfter} s`, 'TOO_MANY_LOGIN_ATTEMPTS');
  expect(res.headers.getSetCookie(), 'Set-Cookie of a refused login').to.eql([]);
}

function expectLoggedIn(res: HttpResult, username: string): void {
  expect(res.status, res.text).to.equal(200);
  expectJson(res);
  expect(res.body).to.eql({ username });
}

describe('failed-login throttle (POST /login)', () => {
  describe('with the default limits: 5 per name, 20 per address, 60 s', () => {
    const server = useServer({ CHARIOT_TRUST_PROXY: '1' });

    it('after 5 wrong passwords for a name, answers 429 with Retry-After for it, even to the right password and from another address', async () => {
      const attacker = server.anonymous();
      for (let i = 0; i < 5; i++) {
        expectError(await loginFrom(attacker, '198.51.100.1', 'carol', `guess-${i}`), 401, 'Invalid credentials', 'INVALID_CREDENTIALS');
      }
      expectThrottled(await loginFrom(attacker, '198.51.100.1', 'carol', 'guess-5'), 'for this user name', 55, 60);

      // The right password is refused too, unchecked: otherwise a 200 among the 429s would
      // tell the attacker which guess was right.
      const carol = server.anonymous();
      expectThrottled(await loginFrom(carol, '203.0.113.9', 'carol', PASSWORDS.carol), 'for this user name', 55, 60);
      expect(carol.cookieHeader, 'no session for the refused login').to.equal(undefined);
      expectError(await carol.json('GET', '/api/me'), 401, 'Unauthorized');

      // The attacker's address made 6 attempts, under its limit of 20: other names still work from it.
      expectLoggedIn(await loginFrom(server.anonymous(), '198.51.100.1', 'dave', PASSWORDS.dave), 'dave');
    });

    it('after 20 failures from one address on other names, answers 429 to that address alone: the same user logs in from another', async () => {
      const attacker = server.anonymous();
      for (let i = 0; i < 20; i++) {
        expectError(await loginFrom(attacker, '198.51.100.20', `spray-${i}`, 'password1'), 401, 'Invalid credentials');
      }
      expectThrottled(await loginFrom(attacker, '198.51.100.20', 'spray-20', 'password1'), 'from this address', 55, 60);
      const fromThere = server.anonymous();
      expectThrottled(await loginFrom(fromThere, '198.51.100.20', 'alice', PASSWORDS.alice), 'from this address', 55, 60);
      expect(fromThere.cookieHeader).to.equal(undefined);

      // Alice elsewhere is not held up by failures on other names from another address.
      const alice = server.anonymous();
      expectLoggedIn(await loginFrom(alice, '198.51.100.21', 'alice', PASSWORDS.alice), 'alice');
      expectLoggedIn(await alice.json('GET', '/api/me'), 'alice');
    });

    it('counts guesses sent in parallel from the moment they start: 30 at once on one name get 5 checks, 25 answers 429', async () => {
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => (
        loginFrom(server.anonymous(), `198.51.100.${100 + i}`, 'eve', `guess-${i}`))));
      const checked = answers.filter((res) => res.status === 401);
      const throttled = answers.filter((res) => res.status === 429);
      expect({ checked: checked.length, throttled: throttled.length }).to.eql({ checked: 5, throttled: 25 });
      for (const res of checked) expectError(res, 401, 'Invalid credentials');
      for (const res of throttled) expectThrottled(res, 'for this user name', 55, 60);
    });

    it('does not believe an X-Forwarded-For entry beyond the trusted proxy: the address is the last one, the proxy\'s view', async () => {
      // A client writes X-Forwarded-For itself; the proxy appends what it saw. Rotating the
      // written part must not buy fresh attempts.
      const attacker = server.anonymous();
      for (let i = 0; i < 20; i++) {
        const res = await loginFrom(attacker, `10.0.0.${i}, 198.51.100.30`, `rotate-${i}`, 'password1');
        expectError(res, 401, 'Invalid credentials');
      }
      expectThrottled(await loginFrom(attacker, '10.0.0.99, 198.51.100.30', 'rotate-20', 'password1'), 'from this address', 55, 60);
      expectThrottled(await loginFrom(attacker, '198.51.100.30', 'rotate-21', 'password1'), 'from this address', 55, 60);
    });

    it('counts an IPv6 client by its /64: rotating the low 64 bits buys no fresh attempts', async () => {
      const attacker = server.anonymous();
      for (let i = 0; i < 20; i++) {
        expectError(await loginFrom(attacker, `2001:db8:1:2::${(i + 1).toString(16)}`, `v6-${i}`, 'password1'), 401, 'Invalid credentials');
      }
      expectThrottled(await loginFrom(attacker, '2001:db8:1:2:ffff:ffff:ffff:ffff', 'v6-20', 'password1'), 'from this address', 55, 60);
      expectError(await loginFrom(attacker, '2001:db8:1:3::1', 'v6-21', 'password1'), 401, 'Invalid credentials');
    });
  });

  describe('with a 2 s window', () => {
    const server = useServer({ CHARIOT_TRUST_PROXY: '1', CHARIOT_LOGIN_WINDOW_MS: '2000' });

    it('lets the name in again once Retry-After has passed, and a success clears its failures', async () => {
      const user: User = 'bob';
      for (let i = 0; i < 5; i++) expectError(await loginFrom(server.anonymous(), '198.51.100.40', user, 'wrong'), 401, 'Invalid credentials');
      const refused = await loginFrom(server.anonymous(), '198.51.100.40', user, PASSWORDS[user]);
      expectThrottled(refused, 'for this user name', 1, 2);
      // The window is what is under test: wait exactly what the answer said.
      await sleep(Number(refused.headers.get('retry-after')) * 1000);
      expectLoggedIn(await loginFrom(server.anonymous(), '198.51.100.40', user, PASSWORDS[user]), user);
      // The success cleared the name's count: 5 more failures are checked before the next 429.
      for (let i = 0; i < 5; i++) expectError(await loginFrom(server.anonymous(), '198.51.100.41', user, 'wrong'), 401, 'Invalid credentials');
      expectThrottled(await loginFrom(server.anonymous(), '198.51.100.41', user, 'wrong'), 'for this user name', 1, 2);
    });
  });

  describe('memory (LoginThrottle on a test clock)', () => {
    it(`keeps at most ${MAX_TRACKED} names and addresses under a flood of new ones, never forgetting a configured user's failures, and lets them expire`, () => {
      let now = 1_000_000;
      const throttle = new LoginThrottle({
        failuresPerName: 5,
        failuresPerAddress: 20,
        windowMs: 60_000,
        isKnownName: (name) => name === 'alice',
        now: () => now,
      });
      for (let i = 0; i < 4; i++) throttle.begin('alice', '192.0.2.1').failed();

      // 100,000 failures on new names (long ones: the table keeps a digest) from new addresses.
      const long = 'x'.repeat(1000);
      for (let i = 0; i < 100_000; i++) {
        now += 0.5;
        throttle.begin(`${long}${i}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).failed();
      }
      expect(throttle.tracked).to.eql({ names: MAX_TRACKED, addresses: MAX_TRACKED });

      // Alice's four failures survived the flood (50 s of it): one more is checked, then 429.
      throttle.begin('alice', '192.0.2.2').failed();
      expect(() => throttle.begin('alice', '192.0.2.3')).to.throw(TooManyLoginAttemptsError, 'Too many failed logins for this user name: try again in 10 s');

      // A minute later everything has expired, and goes at the next new key.
      now += 60_000;
      throttle.begin('someone', '192.0.2.4').abandoned();
      expect(throttle.tracked).to.eql({ names: 0, addresses: 0 });
      throttle.begin('alice', '192.0.2.1').failed();
      expect(throttle.tracked).to.eql({ names: 1, addresses: 1 });
    });
  });
});

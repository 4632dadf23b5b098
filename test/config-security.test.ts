// The configuration of sessions and cross-site defences: CHARIOT_SECURE_COOKIES,
// CHARIOT_TRUST_PROXY, CHARIOT_ALLOWED_ORIGINS and the login limits, with the message each
// bad value stops start-up with.
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig: sessions and cross-site requests', () => {
  it('defaults: no Secure cookie, no proxy believed, no other origin, 5 / 20 failures a minute, 1 hash at a time with 16 waiting', () => {
    expect(loadConfig({})).to.deep.include({
      secureCookies: false,
      trustProxy: 0,
      allowedOrigins: [],
      loginFailuresPerName: 5,
      loginFailuresPerAddress: 20,
      loginWindowMs: 60_000,
      loginConcurrency: 1,
      loginQueue: 16,
    });
  });

  it('parses every variable', () => {
    const config = loadConfig({
      CHARIOT_SECURE_COOKIES: 'true',
      CHARIOT_TRUST_PROXY: '2',
      CHARIOT_ALLOWED_ORIGINS: ' https://App.Example.com:443 ,http://127.0.0.1:3000,https://app.example.com/',
      CHARIOT_LOGIN_FAILURES_PER_NAME: '3',
      CHARIOT_LOGIN_FAILURES_PER_ADDRESS: '50',
      CHARIOT_LOGIN_WINDOW_MS: '300000',
      CHARIOT_LOGIN_CONCURRENCY: '7',
      CHARIOT_LOGIN_QUEUE: '0',
      UV_THREADPOOL_SIZE: '8',
    });
    expect(config).to.deep.include({
      secureCookies: true,
      trustProxy: 2,
      // Canonical (lower case, no default port, no slash) and each once.
      allowedOrigins: ['https://app.example.com', 'http://127.0.0.1:3000'],
      loginFailuresPerName: 3,
      loginFailuresPerAddress: 50,
      loginWindowMs: 300_000,
      loginConcurrency: 7,
      loginQueue: 0,
    });
  });

  const flags: ReadonlyArray<[string, boolean]> = [['1', true], ['yes', true], ['ON', true], ['0', false], ['false', false], ['off', false], ['', false]];
  for (const [raw, value] of flags) {
    it(`CHARIOT_SECURE_COOKIES=${JSON.stringify(raw)} is ${value}`, () => {
      expect(loadConfig({ CHARIOT_SECURE_COOKIES: raw, CHARIOT_TRUST_PROXY: 'true' }).secureCookies).to.equal(value);
    });
  }

  const proxies: ReadonlyArray<[string, number]> = [['true', 1], ['TRUE', 1], ['false', 0], ['0', 0], ['1', 1], ['10', 10], [' ', 0]];
  for (const [raw, value] of proxies) {
    it(`CHARIOT_TRUST_PROXY=${JSON.stringify(raw)} believes ${value} prox${value === 1 ? 'y' : 'ies'}`, () => {
      expect(loadConfig({ CHARIOT_TRUST_PROXY: raw }).trustProxy).to.equal(value);
    });
  }

  const bad: ReadonlyArray<[Record<string, string>, string]> = [
    [{ CHARIOT_SECURE_COOKIES: 'maybe' }, 'CHARIOT_SECURE_COOKIES must be true or false (or 1 or 0), got "maybe"'],
    [{ CHARIOT_SECURE_COOKIES: '1' }, 'CHARIOT_SECURE_COOKIES needs CHARIOT_TRUST_PROXY: this server speaks plain HTTP, so only a TLS proxy saying X-Forwarded-Proto: https makes a request secure'],
    [{ CHARIOT_TRUST_PROXY: 'yes' }, 'CHARIOT_TRUST_PROXY must be true, false or the number of proxies in front of the server (0 to 10), got "yes"'],
    [{ CHARIOT_TRUST_PROXY: '11' }, 'CHARIOT_TRUST_PROXY must be true, false or the number of proxies in front of the server (0 to 10), got "11"'],
    [{ CHARIOT_TRUST_PROXY: '-1' }, 'CHARIOT_TRUST_PROXY must be true, false or the number of proxies in front of the server (0 to 10), got "-1"'],
    [{ CHARIOT_TRUST_PROXY: '10.0.0.1' }, 'CHARIOT_TRUST_PROXY must be true, false or the number of proxies in front of the server (0 to 10), got "10.0.0.1"'],
    [{ CHARIOT_ALLOWED_ORIGINS: '*' }, 'CHARIOT_ALLOWED_ORIGINS must be origins such as https://app.example.com:8443 separated by commas (scheme, host and port only), got "*"'],
    [{ CHARIOT_ALLOWED_ORIGINS: 'app.example.com' }, 'CHARIOT_ALLOWED_ORIGINS must be origins such as https://app.example.com:8443 separated by commas (scheme, host and port only), got "app.example.com"'],
    [{ CHARIOT_ALLOWED_ORIGINS: 'https://app.example.com/ui' }, 'CHARIOT_ALLOWED_ORIGINS must be origins such as https://app.example.com:8443 separated by commas (scheme, host and port only), got "https://app.example.com/ui"'],
    [{ CHARIOT_ALLOWED_ORIGINS: 'https://a.example,,https://b.example' }, 'CHARIOT_ALLOWED_ORIGINS must be origins such as https://app.example.com:8443 separated by commas (scheme, host and port only), got ""'],
    [{ CHARIOT_ALLOWED_ORIGINS: 'null' }, 'CHARIOT_ALLOWED_ORIGINS must be origins such as https://app.example.com:8443 separated by commas (scheme, host and port only), got "null"'],
    [{ CHARIOT_ALLOWED_ORIGINS: 'ftp://files.example' }, 'CHARIOT_ALLOWED_ORIGINS must be origins such as https://app.example.com:8443 separated by commas (scheme, host and port only), got "ftp://files.example"'],
    [{ CHARIOT_ALLOWED_ORIGINS: 'https://user@app.example.com' }, 'CHARIOT_ALLOWED_ORIGINS must be origins such as https://app.example.com:8443 separated by commas (scheme, host and port only), got "https://user@app.example.com"'],
    [{ CHARIOT_LOGIN_FAILURES_PER_NAME: '0' }, 'CHARIOT_LOGIN_FAILURES_PER_NAME must be between 1 and 100, got 0'],
    [{ CHARIOT_LOGIN_FAILURES_PER_ADDRESS: '101' }, 'CHARIOT_LOGIN_FAILURES_PER_ADDRESS must be between 1 and 100, got 101'],
    [{ CHARIOT_LOGIN_WINDOW_MS: '999' }, 'CHARIOT_LOGIN_WINDOW_MS must be between 1000 and 86400000, got 999'],
    [{ CHARIOT_LOGIN_CONCURRENCY: '0' }, 'CHARIOT_LOGIN_CONCURRENCY must be between 1 and 1024, got 0'],
    [{ CHARIOT_LOGIN_CONCURRENCY: '4' }, 'CHARIOT_LOGIN_CONCURRENCY must be below the libuv thread pool\'s size (UV_THREADPOOL_SIZE, 4) so that password hashes never hold every thread, got 4'],
    [{ CHARIOT_LOGIN_CONCURRENCY: '2', UV_THREADPOOL_SIZE: '2' }, 'CHARIOT_LOGIN_CONCURRENCY must be below the libuv thread pool\'s size (UV_THREADPOOL_SIZE, 2) so that password hashes never hold every thread, got 2'],
    [{ CHARIOT_LOGIN_QUEUE: 'many' }, 'CHARIOT_LOGIN_QUEUE must be a whole number, got "many"'],
  ];
  for (const [env, message] of bad) {
    it(`refuses ${JSON.stringify(env)}`, () => {
      expect(() => loadConfig(env)).to.throw(ConfigError, message);
    });
  }
});

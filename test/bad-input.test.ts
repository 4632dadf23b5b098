// Requests the service must refuse with a JSON error: malformed bodies, missing programs,
// oversized bodies, wrong methods and unknown paths.
import { expect } from 'chai';
import type { Client, Json } from './helpers/client.js';
import { asArray, asObject, expectError } from './helpers/expectations.js';
import { useServer } from './helpers/server.js';

const ENDPOINTS = ['/api/execute', '/api/execute-async'];

describe('bad input', () => {
  const server = useServer({ CHARIOT_BODY_LIMIT: '1kb' });
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  for (const endpoint of ENDPOINTS) {
    describe(`POST ${endpoint}`, () => {
      for (const [what, raw] of [
        ['a body cut short', '{"program":'],
        ['a body of plain words', 'program=1+2'],
        ['a body with a trailing comma', '{"program":"1",}'],
      ] as const) {
        it(`answers 400 with an error for ${what} (not JSON)`, async () => {
          expectError(await alice.rawBody('POST', endpoint, raw, 'application/json'), 400, /\S/);
        });
      }

      const missing: ReadonlyArray<[string, Json]> = [
        ['{}', {}],
        ['an empty program', { program: '' }],
        ['a number as program', { program: 42 }],
        ['null as program', { program: null }],
        ['an array as program', { program: ['1+2'] }],
        ['an object as program', { program: { source: '1+2' } }],
        ['a misspelt key', { programme: '1+2' }],
      ];
      for (const [what, body] of missing) {
        it(`answers 400 "Missing program in request" for ${what}`, async () => {
          expectError(await alice.json('POST', endpoint, body), 400, 'Missing program in request');
        });
      }

      it('answers 413 with an error for a body over CHARIOT_BODY_LIMIT (1kb), and accepts one under it', async () => {
        const over = { program: `"${'x'.repeat(2048)}".length` };
        expectError(await alice.json('POST', endpoint, over), 413, /\S/);
        const under = await alice.json('POST', endpoint, { program: `"${'x'.repeat(900)}".length` });
        expect(under.status, under.text).to.equal(200);
      });

      it('registers nothing for a refused request', async () => {
        const ids = async (): Promise<Json[]> => {
          const res = await alice.json('GET', '/api/executions?limit=1000');
          expect(res.status, res.text).to.equal(200);
          return asArray(res.body).map((item) => asObject(item).execution_id ?? null);
        };
        const before = await ids();
        expect((await alice.json('POST', endpoint, {})).status).to.equal(400);
        expect((await alice.json('POST', endpoint, { program: `"${'x'.repeat(2048)}"` })).status).to.equal(413);
        expect((await alice.rawBody('POST', endpoint, '{"program":', 'application/json')).status).to.equal(400);
        expect(await ids()).to.eql(before);
      });
    });
  }

  for (const [method, path, allowed] of [
    ['GET', '/api/execute', 'POST'],
    ['PUT', '/api/execute-async', 'POST'],
    ['DELETE', '/login', 'POST'],
    ['GET', '/logout', 'POST'],
    ['POST', '/api/executions', 'GET'],
    ['POST', '/healthz', 'GET'],
  ] as const) {
    it(`answers 405 JSON with an Allow header for ${method} ${path}`, async () => {
      const res = await alice.json(method, path);
      expectError(res, 405, /\S/);
      // RFC 9110 §15.5.6: a 405 must list the allowed methods.
      expect(res.headers.get('allow') ?? '', 'Allow').to.include(allowed);
    });
  }

  for (const path of ['/nope', '/api/nope', '/api/result', '/api/logs/', '/login/extra']) {
    it(`answers 404 JSON for the unknown path ${path}`, async () => {
      expectError(await alice.json('GET', path), 404, /\S/);
    });
  }

  it('answers 401 (not 404) for an unknown /api/ path without a session', async () => {
    expectError(await server.anonymous().json('GET', '/api/nope'), 401, 'Unauthorized');
  });
});

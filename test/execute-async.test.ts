// POST /api/execute-async: registers an execution and answers at once with its id.
import { expect } from 'chai';
import type { Client } from './helpers/client.js';
import { asObject, expectError, expectJson } from './helpers/expectations.js';
import { getResult, streamToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

describe('POST /api/execute-async', () => {
  const server = useServer();
  let alice: Client;

  before(async () => {
    alice = await server.login('alice');
  });

  it('answers 200 with only {"execution_id": <uuid v4>}', async () => {
    // submit() asserts the status, the content type, the single key and the uuid v4 format.
    const id = await submit(alice, 'logPrint("Test"); 1+2');
    expect(await streamToEnd(alice, id)).to.have.lengthOf(2);
  });

  it('answers before the script ends: its result is still 202 right after', async () => {
    const id = await submit(alice, 'await sleep(3000); 1');
    const res = await getResult(alice, id);
    expect(res.status, res.text).to.equal(202);
    expectJson(res);
    expect(asObject(res.body).status).to.be.oneOf(['queued', 'running']);
    const cancel = await alice.json('POST', `/api/execution/${id}/cancel`);
    expect(cancel.status, cancel.text).to.equal(202);
  });

  it('gives every execution an id of its own', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => submit(alice, `${i}`)));
    expect(new Set(ids).size).to.equal(10);
    for (const id of ids) await streamToEnd(alice, id);
  });

  it('answers 400 "Missing program in request" for a body without program', async () => {
    expectError(await alice.json('POST', '/api/execute-async', { code: '1+2' }), 400, 'Missing program in request');
  });
});

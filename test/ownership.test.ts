// An execution belongs to the user who started it: to anyone else it does not exist.
import { expect } from 'chai';
import type { Client, Json } from './helpers/client.js';
import { asArray, asObject, expectError, expectKeys } from './helpers/expectations.js';
import { getResult, runToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';

describe('execution ownership', () => {
  const server = useServer();
  let alice: Client;
  let bob: Client;

  before(async () => {
    alice = await server.login('alice');
    bob = await server.login('bob');
  });

  /** Asserts that `client` gets 404 "Execution not found" from every route about `id`. */
  async function expectHidden(client: Client, id: string): Promise<void> {
    expectError(await getResult(client, id), 404, 'Execution not found');
    expectError(await client.json('POST', `/api/execution/${id}/cancel`), 404, 'Execution not found');
    const stream = await client.sse(`/api/logs/${id}`);
    expect(stream.status, 'GET /api/logs').to.equal(404);
    expect(stream.headers['content-type']).to.match(/^application\/json; charset=utf-8$/i);
    const body = asObject(JSON.parse(await stream.text()) as Json);
    expectKeys(body, ['error'], ['code']);
    expect(body.error).to.equal('Execution not found');
  }

  it("gives bob 404 for alice's running execution on result, logs and cancel, and leaves it running", async () => {
    const id = await submit(alice, 'logPrint("mine"); await sleep(1000); "alice\'s"');
    const watch = await alice.sse(`/api/logs/${id}`);
    await watch.nthEvent(1); // running, and sleeping for 1 s
    await expectHidden(bob, id);
    const events = await watch.untilDone();
    expect(events[events.length - 1]!.data, "bob's cancel did not touch it").to.equal('{"status":"completed"}');
    const result = await getResult(alice, id);
    expect(result.status).to.equal(200);
    expect(asObject(result.body).result).to.eql({ value: "alice's", type: 'string' });
  });

  it("gives bob 404 for alice's finished execution, exactly as for an unknown id", async () => {
    const { id, result } = await runToEnd(alice, '1+2');
    expect(result.status).to.equal(200);
    await expectHidden(bob, id);
  });

  it("does not list alice's executions in bob's GET /api/executions", async () => {
    const { id: alices } = await runToEnd(alice, '"a"');
    const { id: bobs } = await runToEnd(bob, '"b"');
    const ids = (client: Client) =>
      client.json('GET', '/api/executions').then((res) => {
        expect(res.status, res.text).to.equal(200);
        return asArray(res.body).map((item) => asObject(item).execution_id);
      });
    const bobSees = await ids(bob);
    const aliceSees = await ids(alice);
    expect(bobSees).to.include(bobs);
    expect(bobSees).not.to.include(alices);
    expect(aliceSees).to.include(alices);
    expect(aliceSees).not.to.include(bobs);
  });
});

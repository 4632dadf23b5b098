// What a client sees when the server process dies (docs/API.md "When the process dies"): its
// open streams end without `done`, the port refuses connections until a supervisor has started
// another process, and that process knows neither the old sessions (401) nor the old
// executions (404), whatever Last-Event-ID a reconnecting EventSource sends.
import { expect } from 'chai';
import { Client } from './helpers/client.js';
import { spawnServer, type ServerProcess } from './helpers/adversary.js';
import { expectError } from './helpers/expectations.js';
import { submit } from './helpers/executions.js';

/** A deployment keeps its signing keys across restarts, so the old cookie still verifies. */
const ENV = { CHARIOT_THREADS: '1', CHARIOT_SESSION_KEYS: 'a-key-that-survives-restarts' };

describe('when the server process dies', function () {
  this.timeout(20_000);
  const started: ServerProcess[] = [];

  after(async () => {
    await Promise.all(started.map((server) => server.kill()));
  });

  it('SIGKILL mid-stream: the stream ends without done; connections are refused; the process started in its place answers 401 to the old session and 404 for the old execution', async () => {
    const first = await spawnServer(ENV);
    started.push(first);
    const alice = await first.login('alice');
    const id = await submit(alice, 'logPrint("before"); await sleep(60000); 1');
    const stream = await alice.sse(`/api/logs/${id}`);
    expect(stream.status).to.equal(200);
    await stream.nthEvent(1);
    expect(stream.rawText.startsWith('retry: 2000\n\n'), stream.rawText).to.equal(true);

    process.kill(first.pid, 'SIGKILL');
    expect(await first.waitExit(5000)).to.equal('SIGKILL');
    await stream.text();
    expect(stream.events.map((event) => event.event), 'events before the death').to.eql(['message']);
    expect(stream.endedCleanly, 'the stream ended by a reset, not by its end').to.equal(false);
    const refused = await fetch(`${first.url}/healthz`).then(() => 'answered', (error: Error) => (error.cause as NodeJS.ErrnoException | undefined)?.code);
    expect(refused).to.equal('ECONNREFUSED');

    // A supervisor starts a new process on the same port.
    const second = await spawnServer({ ...ENV, PORT: new URL(first.url).port });
    started.push(second);
    expect(second.url).to.equal(first.url);
    const reconnect = await new Client(second.url, alice.cookieHeader).sse(`/api/logs/${id}`, { 'last-event-id': '1' });
    expect(reconnect.status, 'the old session').to.equal(401);
    reconnect.close();
    const again = await second.login('alice');
    expectError(await again.json('GET', `/api/logs/${id}`, undefined, { 'last-event-id': '1' }), 404, 'Execution not found', 'EXECUTION_NOT_FOUND');
    expectError(await again.json('GET', `/api/result/${id}`), 404, 'Execution not found', 'EXECUTION_NOT_FOUND');
  });
});

// CHARIOT_SANDBOX_MEMORY_MB: the memory of all isolates together is bounded. With one thread,
// 32 MiB per isolate and 64 MiB in all, two executions that each hold 24 MB (about 25 MiB with
// their isolate) fit; a third that grabs as much is ended with the error that names the
// budget, while the other two, and another user's execution, complete.
import { expect } from 'chai';
import type { Client } from './helpers/client.js';
import { asObject, expectLogEntries } from './helpers/expectations.js';
import { getResult, streamToEnd, submit } from './helpers/executions.js';
import { useServer } from './helpers/server.js';
import { expectEntriesThenDone } from './helpers/streams.js';

/**
 * Holds 3e6 doubles in a typed array (24 MB outside the heap, which the budget counts as the
 * heap limit does; an ordinary array's heap would count its garbage too), says so, and keeps
 * them for `ms`.
 */
function hog(ms: number): string {
  return `const keep = new Float64Array(3e6).fill(1.5); logPrint("holding"); await sleep(${ms}); keep.length`;
}

describe('the sandbox memory budget (CHARIOT_SANDBOX_MEMORY_MB=64, one thread, 32 MiB per isolate)', () => {
  const server = useServer({ CHARIOT_THREADS: '1', CHARIOT_MEMORY_MB: '32', CHARIOT_SANDBOX_MEMORY_MB: '64' });
  let alice: Client;
  let bob: Client;

  before(async () => {
    [alice, bob] = await Promise.all([server.login('alice'), server.login('bob')]);
  });

  it('ends the execution that takes the isolates past the budget, and only it', async () => {
    const first = await submit(alice, hog(1500));
    const firstStream = await alice.sse(`/api/logs/${first}`);
    await firstStream.nthEvent(1);
    const second = await submit(alice, hog(1500));
    const secondStream = await alice.sse(`/api/logs/${second}`);
    await secondStream.nthEvent(1);

    // The third grabs as much: three of them do not fit in 64 MiB.
    const third = await submit(alice, hog(100));
    // It is ended when the call in which it grabbed returns: after what it logged in it.
    expectEntriesThenDone(await streamToEnd(alice, third), [{ level: 'INFO', message: 'holding' }], 'error');
    const res = await getResult(alice, third);
    expect({ http: res.status, status: asObject(res.body).status, error: asObject(res.body).error }).to.eql({
      http: 500,
      status: 'error',
      error: 'Memory limit exceeded: the isolates of this worker thread passed their share of CHARIOT_SANDBOX_MEMORY_MB (64 MiB)',
    });

    // Another user's small execution fits beside the two.
    const small = await bob.json('POST', '/api/execute', { program: 'logPrint("small"); 1+2' });
    expect({ http: small.status, result: asObject(small.body).result }).to.eql({ http: 200, result: 3 });
    expectLogEntries(asObject(small.body).logs, [{ level: 'INFO', message: 'small' }]);

    for (const [id, stream] of [[first, firstStream], [second, secondStream]] as const) {
      expectEntriesThenDone(await stream.untilDone(), [{ level: 'INFO', message: 'holding' }], 'completed');
      const done = await getResult(alice, id);
      expect({ http: done.status, result: asObject(done.body).result }).to.eql({ http: 200, result: { value: 3e6, type: 'number' } });
    }

    // Their memory is free again: the same grab fits now.
    const again = await alice.json('POST', '/api/execute', { program: hog(0) });
    expect({ http: again.status, result: asObject(again.body).result }).to.eql({ http: 200, result: 3e6 });
  });
});

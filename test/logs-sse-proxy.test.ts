// GET /api/logs/:execId through a buffering reverse proxy (nginx, proxy_buffering on): the
// stream's `X-Accel-Buffering: no` makes it stream live, nothing compresses it, and a client
// behind the proxy gets byte for byte what a direct client gets. Two configurations: nginx's
// default HTTP/1.0 to the server, under which nginx holds a response until it ends unless the
// response says `X-Accel-Buffering: no` (without it, the first test here fails); and HTTP/1.1
// with kept-alive upstream connections, as SSE guides recommend.
import { expect } from 'chai';
import { Agent } from 'node:http';
import { Client } from './helpers/client.js';
import { expectUnfinishedWith, submit } from './helpers/executions.js';
import { startNginx, type Nginx, type UpstreamHttp } from './helpers/nginx.js';
import { useServer } from './helpers/server.js';
import { expectBody, expectEvents, summary } from './helpers/streams.js';

const RETRY_MS = 2000;
const GZIP = { 'accept-encoding': 'gzip, deflate, br' };

for (const http of ['1.0', '1.1'] as const satisfies readonly UpstreamHttp[]) {
  describe(`GET /api/logs/:execId through nginx with proxy_buffering on, HTTP/${http} to the server`, function () {
    this.timeout(20_000);
    const server = useServer();
    let proxy: Nginx | undefined;
    let alice: Client;
    let viaProxy: Client;

    before(async () => {
      alice = await server.login('alice');
      proxy = await startNginx(server.url, http);
      viaProxy = new Client(proxy.url, alice.cookieHeader);
    });

    after(async () => {
      await proxy?.close();
    });

    it('streams live: the first entry reaches the client while the script still runs, uncompressed though gzip is accepted', async () => {
      // Were the proxy buffering the stream, "first" would arrive only when the response ended,
      // after the 5 s sleep, and the script would be over; the test cancels the script as
      // soon as it has "first".
      const id = await submit(alice, 'logPrint("first"); await sleep(5000); logPrint("second"); 2');
      const stream = await viaProxy.sse(`/api/logs/${id}`, GZIP);
      expect(stream.status).to.equal(200);
      expect({
        'content-type': stream.headers['content-type'],
        'cache-control': stream.headers['cache-control'],
        'content-encoding': stream.headers['content-encoding'],
        'transfer-encoding': stream.headers['transfer-encoding'],
        connection: stream.headers.connection,
      }).to.eql({
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'content-encoding': undefined,
        'transfer-encoding': 'chunked',
        connection: 'keep-alive',
      });
      await stream.nthEvent(1);
      await expectUnfinishedWith(alice, id, 1, 'the script when "first" arrived');
      expect((await alice.json('POST', `/api/execution/${id}/cancel`)).status).to.equal(202);
      await stream.untilDone();
      expectEvents(stream.events, [{ seq: 1, message: 'first' }, { done: 'cancelled' }]);
      expectBody(stream, RETRY_MS);
    });

    it('gives a client behind the proxy byte for byte the stream a direct client gets, over a kept-alive connection', async () => {
      // 1,500 entries with multi-byte characters: the ring (1,000) makes the stream start with a gap.
      const id = await submit(alice, 'for (let i = 1; i <= 1500; i++) (i % 7 ? logPrint : console.warn)("entrée " + i + " ✓ " + "é".repeat(i % 50)); "ok"');
      await (await server.manager.get(id, 'alice')).whenFinished();
      const direct = await alice.sse(`/api/logs/${id}`, GZIP);
      await direct.untilDone();
      expect(direct.headers['content-encoding'], 'content-encoding of the direct stream').to.equal(undefined);
      expectEvents(direct.events.slice(0, 1), [{ gap: 500, through: 500 }]);
      expect(direct.events.length).to.equal(1 + 1000 + 1);

      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const proxied = await viaProxy.sse(`/api/logs/${id}`, GZIP, agent);
        await proxied.untilDone();
        expect(proxied.rawText === direct.rawText, 'the proxied body is the direct body').to.equal(true);
        expect(summary(proxied.events)).to.eql(summary(direct.events));
        const resumed = await viaProxy.sse(`/api/logs/${id}`, { ...GZIP, 'last-event-id': '1499' }, agent);
        expect(resumed.reusedSocket, 'the second stream reused the connection to the proxy').to.equal(true);
        await resumed.untilDone();
        expect(summary(resumed.events)).to.eql(summary(direct.events.slice(-2)));
      } finally {
        agent.destroy();
      }
    });
  });
}

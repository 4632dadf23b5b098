// What a WebSocket that stops reading costs the server, tested with a client on a bare TCP
// socket that pauses (helpers/ws.ts RawWsClient): the kernel's buffers fill, then the server's
// socket, and then the subscription must wait as a cursor, not grow a queue. It is released
// after STALL_MS (the log stops keeping entries for it; it gets an exact gap), its answers past
// CHARIOT_WS_MAX_UNREAD close it, and a socket that takes nothing for the stall timeout is cut.
// Every frame it finally reads is parsed byte by byte and checked: entries in order, each
// once, gaps exact, then done.
import { expect } from 'chai';
import { STALL_MS } from '../src/sse.js';
import { HIGH_WATER, socketStats, type SocketStats } from '../src/ws/connection.js';
import type { Client } from './helpers/client.js';
import { streamToEnd } from './helpers/executions.js';
import { healthWhen, useServer } from './helpers/server.js';
import { RawWsClient, type Message } from './helpers/ws.js';

/** ENTRIES entries of about 1 KiB each, logged at once: some 20 MiB, far more than a socket's buffers. */
const ENTRIES = 20_000;
const BURST = `const line = "x".repeat(1000); for (let i = 1; i <= ${ENTRIES}; i++) logPrint(i + " " + line); "burst"`;

async function until<T>(read: () => T, test: (value: T) => boolean, withinMs: number, what: string): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = read();
    if (test(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The messages about `id` are entries and gaps covering seqs 1..last exactly once, in order, then its done. */
function expectWholeStream(messages: readonly Message[], id: string, last: number): { gaps: number; missed: number } {
  let next = 1;
  let gaps = 0;
  let missed = 0;
  for (const [i, message] of messages.entries()) {
    expect(message.execution_id, JSON.stringify(message)).to.equal(id);
    if (message.type === 'entry') {
      expect(message.seq, `message ${i}`).to.equal(next);
      expect(String(message.message).startsWith(`${next} `), `message ${i} is entry ${next}`).to.equal(true);
      next++;
    } else if (message.type === 'gap') {
      expect(message.missed, `gap at ${i}`).to.be.above(0);
      expect(message.seq, `gap at ${i} names its last seq`).to.equal(next + Number(message.missed) - 1);
      next += Number(message.missed);
      gaps++;
      missed += Number(message.missed);
    } else {
      expect(i, `done is last: ${JSON.stringify(message)}`).to.equal(messages.length - 1);
      expect(message).to.eql({ type: 'done', execution_id: id, status: 'completed', result: { value: 'burst', type: 'string' } });
    }
  }
  expect(next - 1, 'every seq accounted for').to.equal(last);
  expect(messages.at(-1)?.type, 'ends with done').to.equal('done');
  return { gaps, missed };
}

async function subscribePaused(client: Client, raw: RawWsClient, id: string): Promise<SocketStats> {
  raw.send({ type: 'subscribe', execution_id: id });
  await streamToEnd(client, id);
  // Blocked: the socket holds what it could not send, the rest waits in the log.
  return until(() => socketStats()[0], (stats) => stats !== undefined && stats.blocked, 10_000, 'the socket blocks');
}

async function submitBurst(client: Client): Promise<string> {
  const res = await client.json('POST', '/api/execute-async', { program: BURST });
  expect(res.status, res.text).to.equal(200);
  return String((res.body as Message).execution_id);
}

describe('WebSocket: a socket that stops reading', function () {
  this.timeout(120_000);

  describe('with the default limits', () => {
    const server = useServer({ CHARIOT_THREADS: '1' });

    it('costs a cursor, not a queue; is released after STALL_MS; and on reading again gets the rest with one exact gap', async () => {
      const alice = await server.login('alice');
      const raw = await RawWsClient.open(server.url, alice.cookieHeader!);
      try {
        raw.pause();
        const id = await submitBurst(alice);
        const blocked = await subscribePaused(alice, raw, id);
        // What the server holds for the socket: at most the high-water mark and one entry's frame.
        expect(blocked.bufferedAmount, 'bytes the socket holds').to.be.at.most(HIGH_WATER + 2048);
        expect(blocked.subscriptions).to.have.length(1);
        expect(blocked.subscriptions[0]!.cursor, 'the cursor waits behind the end').to.be.below(ENTRIES);
        expect(blocked.subscriptions[0]!.holding, 'kept up until it stalled').to.equal(true);
        const released = await until(() => socketStats()[0]!, (stats) => !stats.subscriptions[0]!.holding, STALL_MS + 10_000, 'released');
        expect(released.bufferedAmount).to.be.at.most(HIGH_WATER + 2048);
        raw.resume();
        await until(() => raw.messages.at(-1), (message) => message?.type === 'done', 30_000, 'done after resuming');
        const { gaps, missed } = expectWholeStream(raw.messages, id, ENTRIES);
        expect(gaps, 'one gap: the entries the ring evicted while it was released').to.equal(1);
        expect(missed).to.be.above(0);
      } finally {
        raw.destroy();
      }
      await healthWhen(server, (body) => body.websockets === 0);
    });
  });

  describe('past CHARIOT_WS_MAX_UNREAD', () => {
    const server = useServer({ CHARIOT_THREADS: '1', CHARIOT_WS_MAX_UNREAD: '4kb' });

    it('is closed when its unread answers pass the limit; the server stays healthy', async () => {
      const alice = await server.login('alice');
      const raw = await RawWsClient.open(server.url, alice.cookieHeader!);
      raw.pause();
      const id = await submitBurst(alice);
      await subscribePaused(alice, raw, id);
      // Each unknown type is answered with an error of some 110 bytes: 100 of them pass 4 KiB.
      for (let i = 0; i < 100; i++) raw.send({ type: 'nonsense' });
      await until(() => socketStats().length, (open) => open === 0, 10_000, 'the socket is closed');
      raw.resume();
      await raw.ended;
      const health = await healthWhen(server, (body) => body.websockets === 0 && body.streams === 0);
      expect(health.status).to.equal(200);
      expect([(health.body as Message).websockets, (health.body as Message).streams]).to.eql([0, 0]);
      // What it read before the end is a true prefix: entries in order from 1, nothing twice.
      const entries = raw.messages.filter((message) => message.type === 'entry');
      expect(entries.map((message) => message.seq)).to.eql(entries.map((_, i) => i + 1));
    });
  });

  describe('for the stall timeout', () => {
    const server = useServer({ CHARIOT_THREADS: '1', CHARIOT_SSE_STALL_TIMEOUT_MS: '2000' });

    it('is cut, and gives back its stream slot', async () => {
      const alice = await server.login('alice');
      const raw = await RawWsClient.open(server.url, alice.cookieHeader!);
      raw.pause();
      const id = await submitBurst(alice);
      await subscribePaused(alice, raw, id);
      await until(() => socketStats().length, (open) => open === 0, 15_000, 'the socket is cut');
      const health = await healthWhen(server, (body) => body.websockets === 0 && body.streams === 0);
      expect([(health.body as Message).websockets, (health.body as Message).streams]).to.eql([0, 0]);
      raw.destroy();
    });
  });
});

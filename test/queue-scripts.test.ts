// The shared queue's scripts (src/redis/scripts.ts) against a real redis-server, attacked one by
// one: turns go round between users; a CLAIM repeated with its ticket (its reply lost) gets the
// same execution, never a second one; UNCLAIM puts one back at the head of its user's queue; an
// id whose record is gone is dropped, not stuck at the head; one CLAIM ends at most 100 that
// waited too long and says "again"; a cancel of a waiting one ends it. After every step the
// queue's structures agree with each other: each user in the turns once with a non-empty queue,
// every queued id waiting and its record queued, nothing waiting outside a queue.
import { expect } from 'chai';
import { openRedis, type RedisClient, type RedisConnections } from '../src/redis/connection.js';
import { heldKey, historyKey, logKey, PACE_KEY, queueKey, QUEUE_EVENTS_KEY, recordKey, ticketKey, TURNS_KEY, unfinishedKey, WAITING_KEY } from '../src/redis/keys.js';
import { CANCEL, CLAIM, ENQUEUE, UNCLAIM } from '../src/redis/scripts.js';
import { useRedis } from './helpers/redis.js';

const INSTANCE = 'instance-q';
const CLAIM_TOKEN = `${INSTANCE}/token`;
const OVERDUE = JSON.stringify({ status: 'error', reason: 'queue', message: 'waited too long' });
const HOUR_MS = 3_600_000;

describe('the shared queue\'s scripts against a real Redis', function () {
  this.timeout(30_000);
  const redis = useRedis();
  let connections: RedisConnections;
  let client: RedisClient;
  let n = 0;

  before(async () => {
    connections = await openRedis(redis.url, INSTANCE);
    client = connections.command;
  });

  after(async () => {
    await connections?.close();
  });

  beforeEach(async () => {
    await client.flushAll();
  });

  /** Submits an execution of `owner` into the queue (never taken at once); returns its id. */
  async function enqueue(owner: string, created = Date.now()): Promise<string> {
    const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const reply = await ENQUEUE.run(client, [
      recordKey(id), historyKey(owner), unfinishedKey(owner), queueKey(owner), TURNS_KEY, WAITING_KEY, QUEUE_EVENTS_KEY, heldKey(INSTANCE), PACE_KEY,
    ], ['1000', '100000', id, owner, `"${id}"`, String(created), INSTANCE, '', String(HOUR_MS)]);
    expect((reply as number[])[0], 'ENQUEUE placed it in the queue').to.equal(1);
    return id;
  }

  /** One CLAIM with `ticket`: the id it took, 'again', or undefined when nothing waits. */
  async function claim(ticket: string, maxWaitMs = HOUR_MS): Promise<string | 'again' | undefined> {
    const reply = (await CLAIM.run(client, [TURNS_KEY, WAITING_KEY, QUEUE_EVENTS_KEY, heldKey(INSTANCE), ticketKey(INSTANCE)], [
      INSTANCE, CLAIM_TOKEN, String(Date.now()), String(maxWaitMs), '60000', OVERDUE, ticket,
    ])) as (string | number)[];
    if (reply[0] === 2) return 'again';
    return reply[0] === 1 ? String(reply[1]) : undefined;
  }

  /** The queue's structures, asserted to agree; returns each user's queue in turn order. */
  async function queueState(): Promise<Array<[string, string[]]>> {
    const turns = await client.lRange(TURNS_KEY, 0, -1);
    expect(new Set(turns).size, `no user twice in the turns: ${JSON.stringify(turns)}`).to.equal(turns.length);
    const queues: Array<[string, string[]]> = [];
    const listed = new Set<string>();
    for (const owner of turns) {
      const ids = await client.lRange(queueKey(owner), 0, -1);
      expect(ids.length, `${owner} is in the turns with an empty queue`).to.be.above(0);
      for (const id of ids) {
        listed.add(id);
        expect(await client.hGet(recordKey(id), 'status'), `${id} in ${owner}'s queue`).to.equal('queued');
        expect(await client.hGet(recordKey(id), 'home'), `${id} in ${owner}'s queue has no holder`).to.equal('');
      }
      queues.push([owner, ids]);
    }
    const waiting = await client.zRange(WAITING_KEY, 0, -1);
    expect([...waiting].sort(), 'waiting: exactly the queued ids').to.eql([...listed].sort());
    return queues;
  }

  it('gives the turns round between users, and empties every structure when all are taken', async () => {
    const a = [await enqueue('ann'), await enqueue('ann'), await enqueue('ann')];
    const b = [await enqueue('ben')];
    expect(await queueState()).to.eql([['ann', a], ['ben', b]]);
    const taken: (string | 'again' | undefined)[] = [];
    for (let i = 0; i < 5; i++) taken.push(await claim(`t${i}`));
    expect(taken).to.eql([a[0], b[0], a[1], a[2], undefined]);
    expect(await queueState()).to.eql([]);
    expect((await client.sMembers(heldKey(INSTANCE))).sort(), 'what this instance holds').to.eql([...a, ...b].sort());
    for (const id of [...a, ...b]) expect(await client.hGet(recordKey(id), 'claim')).to.equal(CLAIM_TOKEN);
  });

  it('gives a CLAIM repeated with its ticket the same execution, never a second one', async () => {
    const ids = [await enqueue('ann'), await enqueue('ann')];
    expect(await claim('lost-reply')).to.equal(ids[0]);
    expect(await claim('lost-reply'), 'the same ticket again').to.equal(ids[0]);
    expect(await queueState()).to.eql([['ann', [ids[1]]]]);
    expect(await claim('next')).to.equal(ids[1]);
    expect(await claim('lost-reply'), 'an old ticket, its execution no longer queued under it').to.equal(undefined);
  });

  it('puts back a claimed execution at the head of its user\'s queue, and, with no ids, all it holds queued', async () => {
    const ids = [await enqueue('ann'), await enqueue('ann'), await enqueue('ben')];
    expect(await claim('t1')).to.equal(ids[0]);
    expect(await UNCLAIM.run(client, [heldKey(INSTANCE), TURNS_KEY, WAITING_KEY, QUEUE_EVENTS_KEY], [CLAIM_TOKEN, ids[0]!])).to.equal(1);
    expect(await queueState()).to.eql([['ben', [ids[2]]], ['ann', [ids[0], ids[1]]]]);
    expect(await client.sMembers(heldKey(INSTANCE))).to.eql([]);
    // Taken again, the two of ann's: then everything held still queued goes back at once.
    expect([await claim('t2'), await claim('t3')]).to.eql([ids[2], ids[0]]);
    await client.hSet(recordKey(ids[2]!), 'status', 'running');
    expect(await UNCLAIM.run(client, [heldKey(INSTANCE), TURNS_KEY, WAITING_KEY, QUEUE_EVENTS_KEY], [CLAIM_TOKEN])).to.equal(1);
    expect(await queueState()).to.eql([['ann', [ids[0], ids[1]]]]);
    expect(await client.sMembers(heldKey(INSTANCE)), 'the running one stays held').to.eql([ids[2]]);
  });

  it('drops an id whose record is gone instead of sticking on it', async () => {
    const ids = [await enqueue('ann'), await enqueue('ann'), await enqueue('ben')];
    await client.del(recordKey(ids[0]!));
    expect(await claim('t1')).to.equal(ids[2]);
    expect(await claim('t2')).to.equal(ids[1]);
    expect(await queueState()).to.eql([]);
  });

  it('ends at most 100 that waited too long per CLAIM and says again, then the rest, and takes what did not wait too long', async () => {
    const old = Date.now() - 10 * HOUR_MS;
    const overdue: string[] = [];
    for (let i = 0; i < 150; i++) overdue.push(await enqueue(`user${i % 3}`, old));
    expect(await claim('t1', HOUR_MS)).to.equal('again');
    expect((await queueState()).reduce((sum, [, ids]) => sum + ids.length, 0), 'left waiting after the first CLAIM').to.equal(50);
    expect(await claim('t2', HOUR_MS), 'the second ends the other 50, and nothing is left').to.equal(undefined);
    expect(await queueState()).to.eql([]);
    const fresh = await enqueue('ann');
    expect(await claim('t3', HOUR_MS)).to.equal(fresh);
    for (const id of overdue) {
      expect(await client.hmGet(recordKey(id), ['status', 'outcome', 'claim'])).to.eql(['error', OVERDUE, 'ended']);
      const log = (await client.sendCommand(['XRANGE', logKey(id), '-', '+'])) as [string, string[]][];
      expect(log.map(([itemId, fields]) => [itemId, fields[0], fields[1]]), `the end in ${id}'s log`).to.eql([['0-1', 'e', OVERDUE]]);
    }
    for (let i = 0; i < 3; i++) expect(await client.sMembers(unfinishedKey(`user${i}`))).to.eql([]);
  });

  it('ends a waiting execution on a cancel, its user out of the turns with their last', async () => {
    const ids = [await enqueue('ann'), await enqueue('ben'), await enqueue('ben')];
    expect(await CANCEL.run(client, [recordKey(ids[0]!)], [String(Date.now()), '60000'])).to.equal(2);
    expect(await CANCEL.run(client, [recordKey(ids[2]!)], [String(Date.now()), '60000'])).to.equal(2);
    expect(await queueState()).to.eql([['ben', [ids[1]]]]);
    expect(await client.hGet(recordKey(ids[0]!), 'status')).to.equal('cancelled');
    expect(await CANCEL.run(client, [recordKey(ids[0]!)], [String(Date.now()), '60000']), 'a second cancel: finished').to.equal(0);
    expect(await claim('t1')).to.equal(ids[1]);
  });
});

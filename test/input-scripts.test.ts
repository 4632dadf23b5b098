// The input's scripts (src/redis/scripts.ts INPUT, TAKE_INPUT) against a real redis-server,
// attacked one by one: a read repeated with the same cursors (its reply lost) gets the same
// items, never more and never others; a message sent while an input() waits is handed to it
// past the limits; the end answers every input() that waits, once; a holder without the claim
// reads nothing. After every step the structures agree: the items not handed out are exactly
// in_n messages of in_b bytes (and the end last, once sent), an input() waits only when nothing
// is left to hand out, and the list holds what was handed out but not received, then the rest.
import { expect } from 'chai';
import { openRedis, type RedisClient, type RedisConnections } from '../src/redis/connection.js';
import { inputKey, recordKey } from '../src/redis/keys.js';
import { INPUT, TAKE_INPUT } from '../src/redis/scripts.js';
import { useRedis } from './helpers/redis.js';

const ID = '00000000-0000-4000-8000-000000000001';
const CLAIM = 'instance-i/token';

describe('the input\'s scripts against a real Redis', function () {
  this.timeout(30_000);
  const redis = useRedis();
  let connections: RedisConnections;
  let client: RedisClient;

  before(async () => {
    connections = await openRedis(redis.url, 'instance-i');
    client = connections.command;
  });

  after(async () => {
    await connections?.close();
  });

  beforeEach(async () => {
    await client.flushAll();
    await client.hSet(recordKey(ID), { id: ID, owner: 'alice', status: 'running', home: 'instance-i', claim: CLAIM });
  });

  async function input(item: string, owner = 'alice'): Promise<number[]> {
    return (await INPUT.run(client, [recordKey(ID), inputKey(ID)], [owner, item, '3', '12'])) as number[];
  }

  async function take(have: number, asked: number, claim = CLAIM): Promise<string[] | null> {
    return (await TAKE_INPUT.run(client, [recordKey(ID), inputKey(ID)], [claim, String(have), String(asked)])) as string[] | null;
  }

  /** The structures, asserted to agree; returns the counts. */
  async function state(): Promise<{ waiting: number; bytes: number; wanted: number }> {
    const record = await client.hGetAll(recordKey(ID));
    const list = await client.lRange(inputKey(ID), 0, -1);
    const number = (field: string): number => Number(record[field] ?? '0');
    const off = Number(record.in_off ?? '0');
    const got = Number(record.in_got ?? String(off));
    const rest = list.slice(got - off);
    const messages = rest.filter((item) => item !== 'e');
    expect(messages.every((item) => item.startsWith('d')), 'only messages and the end').to.equal(true);
    expect(rest.indexOf('e'), 'the end is last').to.be.oneOf([-1, rest.length - 1]);
    expect(number('in_n'), 'in_n counts what is not handed out').to.equal(messages.length);
    expect(number('in_b'), 'in_b its bytes').to.equal(messages.reduce((sum, item) => sum + Buffer.byteLength(item) - 1, 0));
    if (number('in_w') > 0) expect(rest, 'an input() waits only when nothing is left').to.eql([]);
    return { waiting: number('in_n'), bytes: number('in_b'), wanted: number('in_w') };
  }

  it('hands kept messages to input() calls in order, and a read repeated with its cursors gets the same items', async () => {
    expect(await input('done')).to.eql([1, 1]);
    expect(await input('dtwo')).to.eql([1, 2]);
    expect(await state()).to.eql({ waiting: 2, bytes: 6, wanted: 0 });
    expect(await take(0, 1)).to.eql(['done']);
    expect(await take(0, 1), 'the same read again').to.eql(['done']);
    expect(await state()).to.eql({ waiting: 1, bytes: 3, wanted: 0 });
    expect(await take(1, 3)).to.eql(['dtwo']);
    expect(await take(1, 3), 'the same read again').to.eql(['dtwo']);
    expect(await state()).to.eql({ waiting: 0, bytes: 0, wanted: 1 });
    expect(await take(2, 3), 'received: nothing more').to.eql([]);
    expect(await client.lLen(inputKey(ID)), 'what was received is gone').to.equal(0);
  });

  it('hands a message to an input() that waits past the limits, and keeps the limits for the rest', async () => {
    expect(await take(0, 2)).to.eql([]);
    expect(await state()).to.eql({ waiting: 0, bytes: 0, wanted: 2 });
    expect(await input(`d${'x'.repeat(12)}`)).to.eql([1, 0]);
    expect(await input(`d${'y'.repeat(12)}`)).to.eql([1, 0]);
    expect(await state()).to.eql({ waiting: 0, bytes: 0, wanted: 0 });
    expect(await input(`d${'z'.repeat(12)}`)).to.eql([1, 1]);
    expect(await input('da'), 'past the bytes').to.eql([-4]);
    expect(await take(0, 2)).to.eql([`d${'x'.repeat(12)}`, `d${'y'.repeat(12)}`]);
    expect(await state()).to.eql({ waiting: 1, bytes: 12, wanted: 0 });
    expect(await input('d')).to.eql([1, 2]);
    expect(await input('d')).to.eql([1, 3]);
    expect(await input('d'), 'past the count').to.eql([-3]);
  });

  it('answers every input() that waits with the one end, keeps the end after what waits, and refuses what comes after', async () => {
    expect(await input('done')).to.eql([1, 1]);
    expect(await input('e')).to.eql([1, 1]);
    expect(await input('dlate')).to.eql([-2]);
    expect(await input('e')).to.eql([-2]);
    expect(await take(0, 3)).to.eql(['done', 'e']);
    expect(await state()).to.eql({ waiting: 0, bytes: 0, wanted: 0 });
    await client.flushAll();
    await client.hSet(recordKey(ID), { id: ID, owner: 'alice', status: 'running', home: 'instance-i', claim: CLAIM });
    expect(await take(0, 2)).to.eql([]);
    expect(await input('e')).to.eql([1, 0]);
    expect(await state()).to.eql({ waiting: 0, bytes: 0, wanted: 0 });
    expect(await take(0, 2), 'both waiting calls: one end').to.eql(['e']);
  });

  it('refuses another user, a finished execution, and a holder without the claim', async () => {
    expect(await input('dx', 'bob')).to.eql([-1]);
    await input('dx');
    expect(await take(0, 1, 'other/token'), 'not the claim').to.equal(null);
    expect(await state()).to.eql({ waiting: 1, bytes: 1, wanted: 0 });
    await client.hSet(recordKey(ID), 'status', 'completed');
    expect(await input('dy')).to.eql([0, 'completed']);
    await client.del(recordKey(ID));
    expect(await input('dy')).to.eql([-1]);
  });
});

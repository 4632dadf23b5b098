// The Lua scripts that make each change of an execution in Redis one atomic step, so that no
// instance ever reads a record without the log entries it counts, or a half-registered one.
import { createHash } from 'node:crypto';
import type { RedisClient } from './connection.js';
import { CONTROL_CHANNEL_PREFIX, CONTROL_CHANNEL_SUFFIX, RECORD_PREFIX, USER_PREFIX } from './keys.js';

/** A script run by its SHA1 (EVALSHA), sent whole (EVAL) only when Redis does not know it yet. */
export class Script {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const options = { keys: [...keys], arguments: [...args] };
    try {
      return await client.evalSha(this.#sha, options);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.#source, options);
    }
  }
}

/**
 * Registers an execution, all or nothing, unless its owner already has `max` unfinished ones on
 * any instance. With no `max` ('') it registers again one that Redis lost (a new epoch), as its
 * holder knows it, unless the record is there after all; it was admitted once, so no limit.
 * KEYS: record, history, unfinished, the holder's held set. ARGV: max, id, owner, program,
 * created, home, claim. Returns 1, or 0 when refused (or already there).
 */
export const ADD = new Script(`
if ARGV[1] == '' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
elseif redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'owner', ARGV[3], 'program', ARGV[4], 'created', ARGV[5],
  'home', ARGV[6], 'claim', ARGV[7], 'status', 'queued', 'seq', '0', 'top_ms', '0', 'top_sq', '0')
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[2])
return 1
`);

/**
 * The holder's write: record fields and log stream items in one step, refused unless the record
 * still carries the writer's claim. Items at or below the stream's newest id are skipped, so a
 * write repeated after a lost reply adds nothing twice. At the end (an expiry time, not 0) the
 * execution leaves its owner's unfinished set, and the record and log expire then: the end's time
 * plus the retention time, however late the write that carries it.
 * KEYS: record, log, unfinished, the holder's held set. ARGV: claim, trim MINID ('' for none),
 * expiry (ms since the epoch; '0' before the end), id, then
 * the number of field pairs and the pairs, then per item: seq, sub, number of field pairs, pairs.
 * Returns 1, 0 when the claim is not the writer's, or -1 when the record is gone (Redis may have
 * lost its data: see InstanceWatch's epoch).
 */
export const WRITE = new Script(`
local claim = redis.call('HGET', KEYS[1], 'claim')
if not claim then return -1 end
if claim ~= ARGV[1] then return 0 end
local topSeq = tonumber(redis.call('HGET', KEYS[1], 'top_ms'))
local topSub = tonumber(redis.call('HGET', KEYS[1], 'top_sq'))
local pairCount = tonumber(ARGV[5])
local i = 6
if pairCount > 0 then
  local fields = {}
  for j = 1, pairCount * 2 do fields[j] = ARGV[5 + j] end
  redis.call('HSET', KEYS[1], unpack(fields))
  i = 6 + pairCount * 2
end
local newSeq, newSub = nil, nil
while i <= #ARGV do
  local seq, sub, count = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if seq > topSeq or (seq == topSeq and sub > topSub) then
    local fields = {}
    for j = 1, count * 2 do fields[j] = ARGV[i + 2 + j] end
    redis.call('XADD', KEYS[2], ARGV[i] .. '-' .. ARGV[i + 1], unpack(fields))
    topSeq, topSub, newSeq, newSub = seq, sub, ARGV[i], ARGV[i + 1]
  end
  i = i + 3 + count * 2
end
if newSeq then redis.call('HSET', KEYS[1], 'top_ms', newSeq, 'top_sq', newSub) end
if ARGV[2] ~= '' then redis.call('XTRIM', KEYS[2], 'MINID', ARGV[2]) end
if tonumber(ARGV[3]) > 0 then
  redis.call('SREM', KEYS[3], ARGV[4])
  redis.call('SREM', KEYS[4], ARGV[4])
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  redis.call('PEXPIREAT', KEYS[2], ARGV[3])
end
return 1
`);

/**
 * A consistent copy of an execution: its record and the items of its log from the oldest entry
 * the ring keeps (`capacity` entries back from the newest) on. KEYS: record, log. ARGV: capacity.
 * Returns nil for an unknown execution, else { record as field/value pairs, stream items }.
 */
export const SNAPSHOT = new Script(`
local record = redis.call('HGETALL', KEYS[1])
if #record == 0 then return false end
local from = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') - tonumber(ARGV[1]) + 1
if from < 1 then from = 1 end
return { record, redis.call('XRANGE', KEYS[2], string.format('%d-0', from), '+') }
`);

/**
 * Asks for a cancel: stored in the record first, so that it is never lost, then the instance
 * holding the execution is woken on its control channel. KEYS: record. Returns 1 when asked,
 * 0 when the execution already finished, -1 when it is unknown.
 */
export const CANCEL = new Script(`
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status ~= 'queued' and status ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'cancel', '1')
local home = redis.call('HGET', KEYS[1], 'home')
redis.call('PUBLISH', '${CONTROL_CHANNEL_PREFIX}' .. home .. '${CONTROL_CHANNEL_SUFFIX}', redis.call('HGET', KEYS[1], 'id'))
return 1
`);

/**
 * Ends every unfinished execution a lost instance held, unless it beats again: each as `error`
 * "Instance lost: <id>", with the end in its log (so that every stream gets `done`), its claim
 * taken (so that the instance, should it come back, writes nothing more of it), out of its
 * owner's unfinished set, expiring after the retention time. `force`: its own earlier life, at
 * start-up (same CHARIOT_INSTANCE_ID). KEYS: alive, held, instances. ARGV: instance, retention
 * ms, now ms, force ('1' or '0'). Returns how many it ended, or -1 when the instance is alive.
 */
export const REAP = new Script(`
if ARGV[4] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local outcome = cjson.encode({ status = 'error', reason = 'instance', message = 'Instance lost: ' .. ARGV[1] })
local prefix = ARGV[1] .. '/'
local ended = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local record = '${RECORD_PREFIX}' .. id
  local status = redis.call('HGET', record, 'status')
  local claim = redis.call('HGET', record, 'claim')
  if (status == 'queued' or status == 'running') and claim and string.sub(claim, 1, #prefix) == prefix then
    local seq = redis.call('HGET', record, 'seq')
    local sub = 1
    if redis.call('HGET', record, 'top_ms') == seq then sub = tonumber(redis.call('HGET', record, 'top_sq')) + 1 end
    redis.call('XADD', record .. ':log', seq .. '-' .. sub, 'e', outcome, 'c', ARGV[3])
    redis.call('HSET', record, 'status', 'error', 'outcome', outcome, 'completed', ARGV[3], 'claim', 'lost:' .. ARGV[1],
      'top_ms', seq, 'top_sq', tostring(sub))
    redis.call('SREM', '${USER_PREFIX}' .. redis.call('HGET', record, 'owner') .. ':unfinished', id)
    redis.call('PEXPIRE', record, ARGV[2])
    redis.call('PEXPIRE', record .. ':log', ARGV[2])
    ended = ended + 1
  end
end
redis.call('DEL', KEYS[2])
if ARGV[4] ~= '1' then redis.call('SREM', KEYS[3], ARGV[1]) end
return ended
`);

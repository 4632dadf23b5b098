// The Lua scripts that make each change of an execution in Redis one atomic step, so that no
// instance ever reads a record without the log entries it counts, or a half-registered one.
import { createHash } from 'node:crypto';
import type { RedisClient } from './connection.js';
import { CONTROL_CHANNEL_PREFIX, CONTROL_CHANNEL_SUFFIX, INPUT_WAKE_PREFIX, PACE_KEY, RECORD_PREFIX, TURNS_KEY, USER_PREFIX, WAITING_KEY } from './keys.js';

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
 * Registers again an execution that Redis lost (a new epoch), as the instance holding it knows
 * it, unless the record is there after all. It was admitted once, so no limit applies.
 * KEYS: record, history, unfinished, the holder's held set. ARGV: id, owner, program, created,
 * home, claim. Returns 1, or 0 when the record is there.
 */
export const RESTORE = new Script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'owner', ARGV[2], 'program', ARGV[3], 'created', ARGV[4],
  'home', ARGV[5], 'claim', ARGV[6], 'status', 'queued', 'seq', '0', 'top_ms', '0', 'top_sq', '0')
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return 1
`);

/**
 * The holder's write: record fields and log stream items in one step, refused unless the record
 * still carries the writer's claim. Items at or below the stream's newest id are skipped, so a
 * write repeated after a lost reply adds nothing twice. At the end (an expiry time, not 0) the
 * execution leaves its owner's unfinished set, its undelivered input goes, and the record and log
 * expire then: the end's time plus the retention time, however late the write that carries it.
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
  redis.call('DEL', KEYS[1] .. ':input')
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
 * Ends an execution that waits in the shared queue, without it ever running: out of its user's
 * queue (and out of the turns when that was its user's last), out of the waiting set, its end in
 * its log (so that every stream gets `done`), out of its owner's unfinished set, its input
 * dropped, expiring after the retention time. A Lua function that the scripts below include.
 */
/** Executions that waited too long that one CLAIM ends, at most, before it answers "call again". */
const OVERDUE_PER_CLAIM = 100;

const END_QUEUED = `
local function endQueued(id, status, outcome, now, retention)
  local record = '${RECORD_PREFIX}' .. id
  local owner = redis.call('HGET', record, 'owner')
  if not owner then
    redis.call('ZREM', '${WAITING_KEY}', id)
    return
  end
  local queue = '${USER_PREFIX}' .. owner .. ':queue'
  redis.call('LREM', queue, 1, id)
  if redis.call('LLEN', queue) == 0 then redis.call('LREM', '${TURNS_KEY}', 1, owner) end
  redis.call('ZREM', '${WAITING_KEY}', id)
  local seq = redis.call('HGET', record, 'top_ms')
  local sub = tonumber(redis.call('HGET', record, 'top_sq')) + 1
  redis.call('XADD', record .. ':log', seq .. '-' .. sub, 'e', outcome, 'c', now)
  redis.call('HSET', record, 'status', status, 'outcome', outcome, 'completed', now, 'claim', 'ended', 'top_sq', tostring(sub))
  redis.call('SREM', '${USER_PREFIX}' .. owner .. ':unfinished', id)
  redis.call('PEXPIRE', record, retention)
  redis.call('PEXPIRE', record .. ':log', retention)
  redis.call('DEL', record .. ':input')
end
`;

/**
 * Submits an execution, all or nothing, unless its owner already has `max` unfinished ones on
 * any instance (0), the shared queue is full (-1), or its predicted wait is over the limit (-2).
 * With a claim, it is taken here at once when nothing waits (2: this instance holds it); else it
 * waits in its owner's queue (1), and the instances waiting for work are woken.
 * The prediction, when others wait already (else a free slot may be anywhere): its place in line
 * (its owner's waiting ones, and one per turn of each other owner: owners before it in the turns
 * get one more) over the pace of every live instance (PACE_KEY; none known: no refusal).
 * KEYS: record, history, unfinished, the owner's queue, turns, waiting, queue events, this
 * instance's held set, pace. ARGV: max per user, max queue, id, owner, program, created,
 * instance, claim ('' to queue it whatever waits), max wait ms.
 * Returns { result, executions waiting now, predicted wait ms (-2), the oldest's submission ms }.
 */
export const ENQUEUE = new Script(`
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[1]) then return { 0, 0 } end
local waiting = redis.call('ZCARD', KEYS[6])
local take = ARGV[8] ~= '' and waiting == 0
if not take and waiting >= tonumber(ARGV[2]) then return { -1, waiting } end
if waiting > 0 then
  local rate = 0
  local paces = redis.call('HGETALL', KEYS[9])
  for i = 1, #paces, 2 do
    if redis.call('EXISTS', 'chariot:instance:' .. paces[i] .. ':alive') == 1 then rate = rate + tonumber(paces[i + 1]) end
  end
  if rate > 0 then
    local own = redis.call('LLEN', KEYS[4])
    local ahead, before = own, true
    for _, other in ipairs(redis.call('LRANGE', KEYS[5], 0, -1)) do
      if other == ARGV[4] then before = false
      else
        local extra = own
        if before then extra = own + 1 end
        ahead = ahead + math.min(redis.call('LLEN', '${USER_PREFIX}' .. other .. ':queue'), extra)
      end
    end
    local predicted = math.ceil((ahead + 1) / rate)
    if predicted > tonumber(ARGV[9]) then return { -2, waiting, predicted } end
  end
end
local home, claim = '', ''
if take then home, claim = ARGV[7], ARGV[8] end
redis.call('HSET', KEYS[1], 'id', ARGV[3], 'owner', ARGV[4], 'program', ARGV[5], 'created', ARGV[6],
  'home', home, 'claim', claim, 'status', 'queued', 'seq', '0', 'top_ms', '0', 'top_sq', '0')
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[3])
if take then
  redis.call('SADD', KEYS[8], ARGV[3])
  return { 2, 0 }
end
redis.call('RPUSH', KEYS[4], ARGV[3])
if redis.call('LLEN', KEYS[4]) == 1 then redis.call('RPUSH', KEYS[5], ARGV[4]) end
redis.call('ZADD', KEYS[6], ARGV[6], ARGV[3])
redis.call('XADD', KEYS[7], 'MAXLEN', '1', '*', 'q', '1')
return { 1, waiting + 1, 0, redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')[2] }
`);

/**
 * Takes the next waiting execution for this instance: the first of the user whose turn it is,
 * who then goes to the back of the turns (round robin between users, across every instance).
 * One that waited longer than the limit ends (`outcome`) instead, and the next is looked at (at
 * most OVERDUE_PER_CLAIM of them per call: then { 2 }, call again); an id whose record is gone
 * is dropped. Each call carries a ticket, and a repeated call with the same ticket (its reply was
 * lost, or timed out after Redis ran it) gets the same execution again, so that none is left
 * claimed by an instance that never learnt of it.
 * KEYS: turns, waiting, queue events, this instance's held set, its last ticket. ARGV: instance,
 * claim, now ms, max wait ms, retention ms, the outcome of one that waited too long (JSON), ticket.
 * Returns { 1, id, owner, program, created, executions waiting now }, { 2 }, or, when nothing
 * waits, { 0, the id of the newest queue event } (a blocked XREAD after it wakes at the next
 * submission).
 */
export const CLAIM = new Script(`${END_QUEUED}
local function taken(id, record)
  return { 1, id, redis.call('HGET', record, 'owner'), redis.call('HGET', record, 'program'), redis.call('HGET', record, 'created'), redis.call('ZCARD', KEYS[2]) }
end
local prior = redis.call('GET', KEYS[5])
if prior then
  local space = string.find(prior, ' ', 1, true)
  if space and string.sub(prior, 1, space - 1) == ARGV[7] then
    local id = string.sub(prior, space + 1)
    local record = '${RECORD_PREFIX}' .. id
    if redis.call('HGET', record, 'claim') == ARGV[2] and redis.call('HGET', record, 'status') == 'queued' then return taken(id, record) end
  end
end
local cutoff = tonumber(ARGV[3]) - tonumber(ARGV[4])
local ended = 0
while true do
  local owner = redis.call('LPOP', KEYS[1])
  if not owner then
    local newest = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)[1]
    return { 0, newest and newest[1] or '0-0' }
  end
  local queue = '${USER_PREFIX}' .. owner .. ':queue'
  local id = redis.call('LINDEX', queue, 0)
  redis.call('RPUSH', KEYS[1], owner)
  if id then
    local record = '${RECORD_PREFIX}' .. id
    local created = redis.call('HGET', record, 'created')
    if created and redis.call('HGET', record, 'status') == 'queued' and tonumber(created) <= cutoff then
      endQueued(id, 'error', ARGV[6], ARGV[3], ARGV[5])
      ended = ended + 1
      if ended >= ${OVERDUE_PER_CLAIM} then return { 2 } end
    else
      redis.call('LPOP', queue)
      if redis.call('LLEN', queue) == 0 then redis.call('LREM', KEYS[1], -1, owner) end
      redis.call('ZREM', KEYS[2], id)
      if created and redis.call('HGET', record, 'status') == 'queued' then
        redis.call('HSET', record, 'home', ARGV[1], 'claim', ARGV[2])
        redis.call('SADD', KEYS[4], id)
        redis.call('SET', KEYS[5], ARGV[7] .. ' ' .. id, 'PX', '600000')
        return taken(id, record)
      end
    end
  else
    redis.call('LREM', KEYS[1], -1, owner)
  end
end
`);

/**
 * Puts back executions this instance claimed and will not run: one whose claim came back after
 * the instance began draining or closing, or, at close (with no ids: everything its held set
 * still has queued under its claim), one whose claim's reply it never had. Each goes back to the
 * head of its user's queue, waiting again, and the instances waiting for work are woken.
 * KEYS: this instance's held set, turns, waiting, queue events. ARGV: claim, then the ids.
 * Returns how many it put back.
 */
export const UNCLAIM = new Script(`
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids == 0 then ids = redis.call('SMEMBERS', KEYS[1]) end
local back = 0
for _, id in ipairs(ids) do
  local record = '${RECORD_PREFIX}' .. id
  if redis.call('HGET', record, 'claim') == ARGV[1] and redis.call('HGET', record, 'status') == 'queued' then
    local owner = redis.call('HGET', record, 'owner')
    local queue = '${USER_PREFIX}' .. owner .. ':queue'
    redis.call('HSET', record, 'home', '', 'claim', '')
    redis.call('SREM', KEYS[1], id)
    redis.call('LPUSH', queue, id)
    if redis.call('LLEN', queue) == 1 then redis.call('LPUSH', KEYS[2], owner) end
    redis.call('ZADD', KEYS[3], redis.call('HGET', record, 'created'), id)
    back = back + 1
  end
end
if back > 0 then redis.call('XADD', KEYS[4], 'MAXLEN', '1', '*', 'q', '1') end
return back
`);

/**
 * Ends the executions that waited in the shared queue longer than the limit (at most 1000 at
 * once). KEYS: waiting. ARGV: cutoff (submitted at or before it: ms), now ms, retention ms, the
 * outcome (JSON). Returns { how many it ended, the oldest one left's submission ms or -1, how
 * many wait now }.
 */
export const EXPIRE_WAITING = new Script(`${END_QUEUED}
local overdue = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, id in ipairs(overdue) do endQueued(id, 'error', ARGV[4], ARGV[2], ARGV[3]) end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
return { #overdue, oldest and tonumber(oldest) or -1, redis.call('ZCARD', KEYS[1]) }
`);

/**
 * Asks for a cancel. One that waits in the shared queue ends there and then (2). Else the
 * request is stored in the record first, so that it is never lost, then the instance holding the
 * execution is woken on its control channel (1). 0 when the execution already finished, -1 when
 * it is unknown. KEYS: record. ARGV: now ms, retention ms.
 */
export const CANCEL = new Script(`${END_QUEUED}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status ~= 'queued' and status ~= 'running' then return 0 end
local home = redis.call('HGET', KEYS[1], 'home')
local id = redis.call('HGET', KEYS[1], 'id')
if home == '' then
  endQueued(id, 'cancelled', cjson.encode({ status = 'cancelled' }), ARGV[1], ARGV[2])
  return 2
end
redis.call('HSET', KEYS[1], 'cancel', '1')
redis.call('PUBLISH', '${CONTROL_CHANNEL_PREFIX}' .. home .. '${CONTROL_CHANNEL_SUFFIX}', id)
return 1
`);

/**
 * Ends every unfinished execution a lost instance held, unless it beats again: each as `error`
 * "Instance lost: <id>", with the end in its log (so that every stream gets `done`), its claim
 * taken (so that the instance, should it come back, writes nothing more of it), out of its
 * owner's unfinished set, its input dropped, expiring after the retention time. `force`: its own earlier life, at
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
    redis.call('DEL', record .. ':input')
    ended = ended + 1
  end
end
redis.call('DEL', KEYS[2])
redis.call('HDEL', '${PACE_KEY}', ARGV[1])
if ARGV[4] ~= '1' then redis.call('SREM', KEYS[3], ARGV[1]) end
return ended
`);

/**
 * One message (`d<text>`) or the end (`e`) for the input of an unfinished execution, from any
 * instance, checked and kept in one step: the record's owner, its status, the end not sent yet,
 * then, unless an input() of the script waits for it (in_w: the message is handed to that call,
 * past the limits, and the holder is woken on its control channel), the limits on what waits
 * undelivered (in_n, in_b: UTF-8 bytes, as Lua's # counts). The end is kept after what waits,
 * past the limits; an input() that waits is handed it (one end answers every such call).
 * Kept input goes to whichever instance runs the execution, from the shared queue too.
 * KEYS: record, input. ARGV: owner, message, max queued, max bytes.
 * Returns { 1, messages waiting undelivered now }, { 0, status } when it finished, { -1 } when
 * it is unknown or another user's, { -2 } after the end, { -3 } past the count, { -4 } past the bytes.
 */
export const INPUT = new Script(`
local status = redis.call('HGET', KEYS[1], 'status')
if not status or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return { -1 } end
if status ~= 'queued' and status ~= 'running' then return { 0, status } end
if redis.call('HGET', KEYS[1], 'in_e') == '1' then return { -2 } end
local waiting = tonumber(redis.call('HGET', KEYS[1], 'in_n') or '0')
local wanted = tonumber(redis.call('HGET', KEYS[1], 'in_w') or '0')
if ARGV[2] == 'e' then
  redis.call('HSET', KEYS[1], 'in_e', '1')
  if wanted > 0 then redis.call('HSET', KEYS[1], 'in_w', '0') end
elseif wanted > 0 then
  redis.call('HINCRBY', KEYS[1], 'in_w', -1)
else
  if waiting >= tonumber(ARGV[3]) then return { -3 } end
  local bytes = #ARGV[2] - 1
  if tonumber(redis.call('HGET', KEYS[1], 'in_b') or '0') + bytes > tonumber(ARGV[4]) then return { -4 } end
  redis.call('HINCRBY', KEYS[1], 'in_b', bytes)
  waiting = waiting + 1
  redis.call('HSET', KEYS[1], 'in_n', tostring(waiting))
end
redis.call('RPUSH', KEYS[2], ARGV[2])
if wanted > 0 then
  -- No message waits while an input() does: this one is the next handed out.
  redis.call('HINCRBY', KEYS[1], 'in_got', 1)
  local home = redis.call('HGET', KEYS[1], 'home')
  if home and home ~= '' then
    redis.call('PUBLISH', '${CONTROL_CHANNEL_PREFIX}' .. home .. '${CONTROL_CHANNEL_SUFFIX}', '${INPUT_WAKE_PREFIX}' .. redis.call('HGET', KEYS[1], 'id'))
  end
end
return { 1, waiting }
`);

/**
 * The holder's read of its execution's input, repeatable: a call whose reply was lost is made
 * again with the same cursors and gets the same items, so that each is delivered exactly once.
 * `have`: the items the holder has received so far, which the list drops now (in_off counts
 * them); `asked`: the input() calls its script made so far. Each call not counted yet (in_asked)
 * is handed the next waiting item (in_got moves on; in_n, in_b lose a message), or waits for the
 * next message (in_w); the end, once handed out, answers every later call, so none waits for it.
 * Fields not there yet start at `have` (a record Redis lost and got again keeps no input).
 * KEYS: record, input. ARGV: claim, have, asked.
 * Returns the items handed out and not received yet, oldest first, or nil when the record does
 * not carry the claim (the holder is fenced: it writes and reads nothing more of it).
 */
export const TAKE_INPUT = new Script(`
if redis.call('HGET', KEYS[1], 'claim') ~= ARGV[1] then return false end
local have, asked = tonumber(ARGV[2]), tonumber(ARGV[3])
local off = tonumber(redis.call('HGET', KEYS[1], 'in_off') or ARGV[2])
local got = tonumber(redis.call('HGET', KEYS[1], 'in_got') or ARGV[2])
local counted = tonumber(redis.call('HGET', KEYS[1], 'in_asked') or ARGV[2])
if have > off then
  redis.call('LTRIM', KEYS[2], have - off, -1)
  off = have
end
if got < off then got = off end
local wanted = tonumber(redis.call('HGET', KEYS[1], 'in_w') or '0')
local waiting = tonumber(redis.call('HGET', KEYS[1], 'in_n') or '0')
local bytes = tonumber(redis.call('HGET', KEYS[1], 'in_b') or '0')
for _ = counted + 1, asked do
  local item = redis.call('LINDEX', KEYS[2], got - off)
  if not item then
    wanted = wanted + 1
  else
    got = got + 1
    if item == 'e' then break end
    waiting = waiting - 1
    bytes = bytes - (#item - 1)
  end
end
if asked > counted then counted = asked end
redis.call('HSET', KEYS[1], 'in_off', tostring(off), 'in_got', tostring(got), 'in_asked', tostring(counted),
  'in_w', tostring(wanted), 'in_n', tostring(waiting), 'in_b', tostring(bytes))
if got > off then return redis.call('LRANGE', KEYS[2], 0, got - off - 1) end
return {}
`);

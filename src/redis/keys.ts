// The names of everything chariot-exec keeps in Redis, in one place. Every key starts with
// `chariot:`, so that a Redis shared with other applications shows what is ours.

export const RECORD_PREFIX = 'chariot:exec:';
export const USER_PREFIX = 'chariot:user:';

/** An execution's record: a hash (see record.ts). */
export function recordKey(id: string): string {
  return `${RECORD_PREFIX}${id}`;
}

/** An execution's log: a stream whose entry ids are `<seq>-0` for log entries (see journal.ts). */
export function logKey(id: string): string {
  return `chariot:exec:${id}:log`;
}

/**
 * An execution's undelivered input (POST .../input from any instance, see input.ts): a list of
 * `d<message>` and, last, `e` for the end; its counts are fields of the record (record.ts).
 */
export function inputKey(id: string): string {
  return `chariot:exec:${id}:input`;
}

/** A user's executions, scored by submission time (ms): a sorted set of ids. */
export function historyKey(owner: string): string {
  return `${USER_PREFIX}${owner}:history`;
}

/** A user's unfinished executions, on every instance: a set of ids (CHARIOT_MAX_PER_USER). */
export function unfinishedKey(owner: string): string {
  return `${USER_PREFIX}${owner}:unfinished`;
}

/**
 * Redis's epoch: a random value set once, by the first instance to find none. A Redis that lost
 * its data has lost this key too, so an instance that finds another value (or none) knows it.
 */
export const EPOCH_KEY = 'chariot:epoch';

/** The instances that beat (or did until they stopped): a set of instance ids. */
export const INSTANCES_KEY = 'chariot:instances';

/** Set while an instance beats: it expires when the instance stops (instances.ts). */
export function aliveKey(instance: string): string {
  return `chariot:instance:${instance}:alive`;
}

/** The unfinished executions an instance holds: a set of ids, for ending them if it is lost. */
export function heldKey(instance: string): string {
  return `chariot:instance:${instance}:held`;
}

/** An instance's last CLAIM ticket and what it took with it (scripts.ts CLAIM): "<ticket> <id>". */
export function ticketKey(instance: string): string {
  return `chariot:instance:${instance}:ticket`;
}

/** A session koa-session made, by its opaque key: a string of JSON with the session's expiry. */
export function sessionKey(key: string): string {
  return `chariot:session:${key}`;
}

export const CONTROL_CHANNEL_PREFIX = 'chariot:instance:';
export const CONTROL_CHANNEL_SUFFIX = ':control';

/**
 * The channel an instance hears requests on for the executions it holds: `<id>` asks it to
 * cancel one (the format of every version), `input:<id>` says that input came for one whose
 * script waits for it (an older instance takes that for the cancel of an unknown id: a no-op).
 */
export function controlChannel(instance: string): string {
  return `${CONTROL_CHANNEL_PREFIX}${instance}${CONTROL_CHANNEL_SUFFIX}`;
}

/** What starts a control message that wakes the holder for input (not a cancel). */
export const INPUT_WAKE_PREFIX = 'input:';

/** A stream of one entry that wakes an instance's blocked log reader when it follows a new log. */
export function wakeKey(instance: string): string {
  return `chariot:instance:${instance}:wake`;
}

/**
 * The shared queue (queue.ts): each user's waiting executions in submission order (a list of
 * ids), the users with waiting executions in turn order (a list: the next turn is its head), all
 * waiting executions scored by submission time (a sorted set: how many wait, and for how long),
 * a stream of one entry that wakes the instances waiting for work when some arrives, and the
 * pace of every instance (for predicting a wait).
 */
export function queueKey(owner: string): string {
  return `${USER_PREFIX}${owner}:queue`;
}
export const TURNS_KEY = 'chariot:queue:turns';
export const WAITING_KEY = 'chariot:queue:waiting';
export const QUEUE_EVENTS_KEY = 'chariot:queue:events';
/** Each instance's pace: how many runs its slots start per ms when busy (a hash by instance id). */
export const PACE_KEY = 'chariot:queue:pace';

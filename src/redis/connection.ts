// The connections an instance keeps to Redis. node-redis (the `redis` package) gives every
// command a 5 s timeout by default, which a blocking XREAD would hit: that read has its own
// connection without one, and so has the wait for work in the shared queue. Pub/sub has its own
// too, as Redis requires. Each reconnects by itself, backing off up to RECONNECT_MAX_MS; an
// outage is logged once, not per retry.
import { createClient } from 'redis';

/** RESP2 replies: plain arrays, which the scripts' and XREAD's raw replies are read as. */
function create(url: string, name: string, timeout: number | undefined) {
  return createClient({
    url,
    name: `chariot-exec:${name}`,
    RESP: 2,
    // While the connection is down a command fails at once (503 REDIS_UNAVAILABLE), rather than
    // waiting in a queue for the command timeout.
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries: number) => Math.min(RECONNECT_MAX_MS, 50 * 2 ** Math.min(retries, 6)) },
    commandOptions: { timeout: timeout ?? 0 },
  });
}

export type RedisClient = ReturnType<typeof create>;

const RECONNECT_MAX_MS = 2000;
/** How long start-up waits for Redis before it gives up. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface RedisConnections {
  /** Commands and scripts. */
  readonly command: RedisClient;
  /** Blocking reads of log streams (no command timeout). */
  readonly blocking: RedisClient;
  /** The blocking wait for work in the shared queue (no command timeout). */
  readonly queue: RedisClient;
  /** SUBSCRIBE. */
  readonly subscriber: RedisClient;
  close(): Promise<void>;
}

function client(url: string, name: string, timeout: number | undefined): RedisClient {
  const redis = create(url, name, timeout);
  let down = false;
  redis.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    console.error(`chariot-exec: Redis connection (${name}) failed: ${error instanceof Error ? error.message : String(error)}; reconnecting`);
  });
  redis.on('ready', () => {
    if (down) console.error(`chariot-exec: Redis connection (${name}) is back`);
    down = false;
  });
  return redis;
}

async function connect(redis: RedisClient, url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cannot reach Redis at ${url} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([redis.connect(), timeout]);
  } catch (error) {
    redis.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Opens the four connections; start-up fails when Redis cannot be reached. */
export async function openRedis(url: string, instance: string): Promise<RedisConnections> {
  const command = client(url, `${instance}:command`, 5000);
  const blocking = client(url, `${instance}:blocking`, undefined);
  const queue = client(url, `${instance}:queue`, undefined);
  const subscriber = client(url, `${instance}:subscriber`, 5000);
  const opened: RedisClient[] = [];
  try {
    for (const redis of [command, blocking, queue, subscriber]) {
      await connect(redis, url);
      opened.push(redis);
    }
  } catch (error) {
    for (const redis of opened) redis.destroy();
    throw error;
  }
  return {
    command,
    blocking,
    queue,
    subscriber,
    async close() {
      // The blocked reads never answer: they are dropped, the others finish what they sent.
      blocking.destroy();
      queue.destroy();
      await Promise.allSettled([command.close(), subscriber.close()]);
    },
  };
}

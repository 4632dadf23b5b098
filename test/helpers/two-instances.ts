// Two instances, A and B, in this process on one real redis-server of their own: mocha hooks
// that start them before the file's tests and close them after, for the scale-out tests.
import type { RunningServer } from '../../src/server.js';
import { startRedis, type RedisProcess } from './redis.js';
import { startTestServer } from './server.js';

export interface TwoInstances {
  readonly redis: RedisProcess;
  readonly a: RunningServer;
  readonly b: RunningServer;
}

/** `env(redisUrl, id)`: the environment of instance `id` (instance-a, instance-b). */
export function useTwoInstances(env: (redisUrl: string, id: string) => Readonly<Record<string, string>>): TwoInstances {
  let redis: RedisProcess | undefined;
  let a: RunningServer | undefined;
  let b: RunningServer | undefined;
  before(async () => {
    redis = await startRedis();
    a = await startTestServer(env(redis.url, 'instance-a'));
    b = await startTestServer(env(redis.url, 'instance-b'));
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the instances are not started');
    return value;
  };
  return {
    get redis() {
      return started(redis);
    },
    get a() {
      return started(a);
    },
    get b() {
      return started(b);
    },
  };
}

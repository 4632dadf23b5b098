// The suite in Redis mode: `CHARIOT_TEST_REDIS=1 npm test` runs every test that starts its
// server through the helpers (startTestServer, useServer, spawnServer) against a server in
// Redis mode, each on a redis-server of its own (started here, closed with the server), so that
// tests stay as independent as they are in memory. Tests that build a Config themselves stay in
// memory: they test the in-memory store, or what a configuration does.
import { startRedis, type RedisProcess } from './redis.js';

export const REDIS_MODE = process.env.CHARIOT_TEST_REDIS === '1';

let instances = 0;

/** The variables that put a server in Redis mode on `redis` (the same session keys for every test server). */
export function redisModeEnv(redis: RedisProcess): Record<string, string> {
  return {
    CHARIOT_REDIS_URL: redis.url,
    CHARIOT_SESSION_KEYS: 'chariot-test-redis-mode-key-0123456789',
    CHARIOT_INSTANCE_ID: `test-${process.pid}-${++instances}`,
  };
}

/**
 * In Redis mode, a redis-server for one server and `env` with the Redis variables added (those
 * `env` sets win); in memory, no server and `env` as it is.
 */
export async function withRedisMode(env: Readonly<Record<string, string>>): Promise<{ env: Record<string, string>; redis: RedisProcess | undefined }> {
  if (!REDIS_MODE || env.CHARIOT_REDIS_URL !== undefined) return { env: { ...env }, redis: undefined };
  const redis = await startRedis();
  return { env: { ...redisModeEnv(redis), ...env }, redis };
}

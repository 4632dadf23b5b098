// Instance loss: each instance beats (a key that expires unless renewed) and watches the others;
// when one stops beating (SIGKILL, power loss, a partition from Redis), the first instance to
// notice ends every unfinished execution it held, in one script (scripts.ts REAP), so that none
// stays `running` for good and every stream of one gets `done`.
//
// With T = CHARIOT_INSTANCE_TIMEOUT_MS: a beat every T/5 keeps the key for 3T/5 (two beats may be
// missed), and every instance looks at the others every T/5, so a lost instance's executions end
// at most 4T/5 after its last beat, within T of its loss.
import type { RedisConnections } from './connection.js';
import { aliveKey, heldKey, INSTANCES_KEY } from './keys.js';
import { REAP } from './scripts.js';

export interface InstanceWatchOptions {
  readonly instance: string;
  /** CHARIOT_INSTANCE_TIMEOUT_MS. */
  readonly timeoutMs: number;
  readonly retentionMs: number;
}

export class InstanceWatch {
  readonly #redis: RedisConnections;
  readonly #options: InstanceWatchOptions;
  readonly #timer: NodeJS.Timeout;
  #failing = false;

  private constructor(redis: RedisConnections, options: InstanceWatchOptions) {
    this.#redis = redis;
    this.#options = options;
    this.#timer = setInterval(() => void this.#tick(), Math.max(1, Math.floor(options.timeoutMs / 5)));
    this.#timer.unref();
  }

  /**
   * Beats at once, after ending what an earlier life of this instance (the same
   * CHARIOT_INSTANCE_ID) held and never finished.
   */
  static async start(redis: RedisConnections, options: InstanceWatchOptions): Promise<InstanceWatch> {
    await InstanceWatch.#reap(redis, options, options.instance, true);
    const watch = new InstanceWatch(redis, options);
    await watch.#beat();
    return watch;
  }

  /** Stops beating and leaves the set of instances (a clean shutdown holds nothing any more). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    const { instance } = this.#options;
    await this.#redis.command.multi().del(aliveKey(instance)).sRem(INSTANCES_KEY, instance).exec().catch(() => undefined);
  }

  async #tick(): Promise<void> {
    try {
      await this.#beat();
      const instances = await this.#redis.command.sMembers(INSTANCES_KEY);
      for (const other of instances) {
        if (other !== this.#options.instance) await InstanceWatch.#reap(this.#redis, this.#options, other, false);
      }
      this.#failing = false;
    } catch (error) {
      // Redis unreachable: the next tick tries again (the connection says when it is back).
      if (!this.#failing) console.error(`chariot-exec: the instance heartbeat failed: ${String(error)}`);
      this.#failing = true;
    }
  }

  async #beat(): Promise<void> {
    const { instance, timeoutMs } = this.#options;
    const ttl = Math.max(1, Math.floor((timeoutMs * 3) / 5));
    await this.#redis.command.multi().set(aliveKey(instance), String(Date.now()), { PX: ttl }).sAdd(INSTANCES_KEY, instance).exec();
  }

  static async #reap(redis: RedisConnections, options: InstanceWatchOptions, instance: string, force: boolean): Promise<void> {
    const ended = await REAP.run(redis.command, [aliveKey(instance), heldKey(instance), INSTANCES_KEY], [
      instance, String(options.retentionMs), String(Date.now()), force ? '1' : '0',
    ]);
    if (typeof ended === 'number' && ended > 0) {
      console.error(`chariot-exec: instance ${instance} was lost${force ? ' (this instance, before it started again)' : ''}: ${ended} of its executions ended with an error`);
    }
  }
}

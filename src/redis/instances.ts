// Instance loss: each instance beats (a key that expires unless renewed) and watches the others;
// when one stops beating (SIGKILL, power loss, a partition from Redis), the first instance to
// notice ends every unfinished execution it held, in one script (scripts.ts REAP), so that none
// stays `running` for good and every stream of one gets `done`.
//
// The same tick reads Redis's epoch (keys.ts EPOCH_KEY): when it changed, Redis lost its data
// (restarted without it), and the store registers again what this instance holds (journal.ts
// rewrite()), so that a running execution is not lost with it and readers get exact gaps.
//
// With T = CHARIOT_INSTANCE_TIMEOUT_MS: a beat every T/5 keeps the key for 3T/5 (two beats may be
// missed), and every instance looks at the others every T/5, so a lost instance's executions end
// at most 4T/5 after its last beat, within T of its loss.
import type { RedisConnections } from './connection.js';
import { randomUUID } from 'node:crypto';
import { aliveKey, EPOCH_KEY, heldKey, INSTANCES_KEY } from './keys.js';
import { REAP } from './scripts.js';

export interface InstanceWatchOptions {
  readonly instance: string;
  /** CHARIOT_INSTANCE_TIMEOUT_MS. */
  readonly timeoutMs: number;
  readonly retentionMs: number;
  /** Redis lost its data since the last look (a new epoch). */
  readonly onEpochChange: () => void;
}

export class InstanceWatch {
  readonly #redis: RedisConnections;
  readonly #options: InstanceWatchOptions;
  readonly #timer: NodeJS.Timeout;
  #failing = false;
  #epoch: string;
  /** The last beat was written: Redis can be written. */
  #beating = true;
  /**
   * No other instance is reaped before this time: after start-up and after beats failed (Redis
   * was unreachable for everyone, and the others' keys may have expired meanwhile), every
   * instance first gets a whole key's lifetime to beat again.
   */
  #reapAfter: number;

  private constructor(redis: RedisConnections, options: InstanceWatchOptions, epoch: string) {
    this.#redis = redis;
    this.#options = options;
    this.#epoch = epoch;
    this.#reapAfter = Date.now() + this.#ttl;
    this.#timer = setInterval(() => void this.#tick(), Math.max(1, Math.floor(options.timeoutMs / 5)));
    this.#timer.unref();
  }

  /**
   * Beats at once, after ending what an earlier life of this instance (the same
   * CHARIOT_INSTANCE_ID) held and never finished.
   */
  static async start(redis: RedisConnections, options: InstanceWatchOptions): Promise<InstanceWatch> {
    const epoch = await InstanceWatch.#readEpoch(redis);
    await InstanceWatch.#reap(redis, options, options.instance, true);
    const watch = new InstanceWatch(redis, options, epoch);
    await watch.#beat();
    return watch;
  }

  /** False once a beat could not be written (Redis unreachable, read-only or full), until one is. */
  get beating(): boolean {
    return this.#beating;
  }

  /** Reads the epoch now; true (and onEpochChange called) when it changed. */
  async checkEpoch(): Promise<boolean> {
    const epoch = await InstanceWatch.#readEpoch(this.#redis);
    if (epoch === this.#epoch) return false;
    this.#epoch = epoch;
    this.#options.onEpochChange();
    return true;
  }

  static async #readEpoch(redis: RedisConnections): Promise<string> {
    await redis.command.set(EPOCH_KEY, randomUUID(), { NX: true });
    const epoch = await redis.command.get(EPOCH_KEY);
    if (epoch === null) throw new Error('the epoch key vanished as it was written');
    return epoch;
  }

  /** Stops beating and leaves the set of instances (a clean shutdown holds nothing any more). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    const { instance } = this.#options;
    await this.#redis.command.multi().del(aliveKey(instance)).sRem(INSTANCES_KEY, instance).exec().catch(() => undefined);
  }

  async #tick(): Promise<void> {
    try {
      try {
        await this.#beat();
        this.#beating = true;
      } catch (error) {
        this.#beating = false;
        this.#reapAfter = Number.POSITIVE_INFINITY;
        throw error;
      }
      this.#failing = false;
      if (this.#reapAfter === Number.POSITIVE_INFINITY) this.#reapAfter = Date.now() + this.#ttl;
      await this.checkEpoch();
      if (Date.now() < this.#reapAfter) return;
      const instances = await this.#redis.command.sMembers(INSTANCES_KEY);
      for (const other of instances) {
        if (other !== this.#options.instance) await InstanceWatch.#reap(this.#redis, this.#options, other, false);
      }
    } catch (error) {
      // Redis unreachable: the next tick tries again (the connection says when it is back).
      if (!this.#failing) console.error(`chariot-exec: the instance heartbeat failed: ${String(error)}`);
      this.#failing = true;
    }
  }

  /** How long a beat keeps this instance's key: 3/5 of CHARIOT_INSTANCE_TIMEOUT_MS. */
  get #ttl(): number {
    return Math.max(1, Math.floor((this.#options.timeoutMs * 3) / 5));
  }

  async #beat(): Promise<void> {
    const { instance } = this.#options;
    await this.#redis.command.multi().set(aliveKey(instance), String(Date.now()), { PX: this.#ttl }).sAdd(INSTANCES_KEY, instance).exec();
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

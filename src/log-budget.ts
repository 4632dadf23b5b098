// LogBudget: what the main thread keeps of every execution's log, bounded per user and in
// total. Each execution's LogBuffer reports its kept bytes (entryBytes()) to its LogAccount;
// past a budget, entries are evicted at once, oldest first, in this order:
//   1. the logs of finished executions, the execution that finished first first;
//   2. then the largest log of a running execution (of the user over their budget; for the
//      total, of the user whose running executions keep the most).
// A reader of an evicted entry gets an exact gap, as for the ring. New submissions are refused
// (LogBudgetFullError) only while running executions alone fill FULL_SHARE of a budget: a new
// one could only take from them. Nothing here knows about HTTP or isolates.
import { LogBudgetFullError } from './errors.js';

/** A log whose oldest kept entries can be given up (LogBuffer). */
export interface EvictableLog {
  /** Evicts the oldest kept entries until at least `bytes` are freed or none is left. */
  evictOldest(bytes: number): { readonly entries: number; readonly bytes: number };
}

export interface LogBudgetLimits {
  /** Bytes kept for all executions together (CHARIOT_LOG_BUDGET). */
  readonly total: number;
  /** Bytes kept for one user's executions together (CHARIOT_LOG_BUDGET_PER_USER). */
  readonly perUser: number;
}

/** What /healthz shows. */
export interface LogBudgetStats {
  /** Bytes kept for every execution, running or finished. */
  readonly kept_bytes: number;
  /** Of those, the bytes of running (and queued) executions. */
  readonly live_bytes: number;
  readonly budget_bytes: number;
  readonly user_budget_bytes: number;
  /** Bytes kept for the user that has the most, without naming them. */
  readonly largest_user_bytes: number;
  /** Entries evicted by these budgets since start (not counting the ring's own evictions). */
  readonly evicted_entries: number;
}

/**
 * The share of a budget that running executions alone must fill for a submission to be refused.
 * Below it, a new execution's log has room, or can take it from finished executions.
 */
export const FULL_SHARE = 0.9;

/** Seconds a refused client is asked to wait: running executions' logs end with them. */
const RETRY_AFTER_S = 1;

interface UserLogs {
  bytes: number;
  liveBytes: number;
  readonly live: Set<LogAccount>;
  /** In the order they finished. */
  readonly finished: Set<LogAccount>;
}

export class LogBudget {
  readonly #limits: LogBudgetLimits;
  readonly #users = new Map<string, UserLogs>();
  /** Every finished account with bytes, in the order they finished. */
  readonly #finished = new Set<LogAccount>();
  #bytes = 0;
  #liveBytes = 0;
  #evicted = 0;
  #reclaiming = false;

  constructor(limits: LogBudgetLimits) {
    this.#limits = limits;
  }

  /** An account for one new execution's log; it is live until finish(). */
  open(owner: string): LogAccount {
    let user = this.#users.get(owner);
    if (user === undefined) this.#users.set(owner, (user = { bytes: 0, liveBytes: 0, live: new Set(), finished: new Set() }));
    const account = new LogAccount(owner, {
      resized: (changed, delta) => this.#resized(changed, delta),
      finished: (done) => this.#finishedAccount(done),
      closed: (done) => this.#closed(done),
    });
    user.live.add(account);
    return account;
  }

  /** Throws LogBudgetFullError while running executions alone fill the owner's or the total budget. */
  assertRoom(owner: string): void {
    const user = this.#users.get(owner);
    if (user !== undefined && user.liveBytes >= this.#limits.perUser * FULL_SHARE) {
      throw new LogBudgetFullError('user', this.#limits.perUser, RETRY_AFTER_S);
    }
    if (this.#liveBytes >= this.#limits.total * FULL_SHARE) throw new LogBudgetFullError('total', this.#limits.total, RETRY_AFTER_S);
  }

  get stats(): LogBudgetStats {
    let largest = 0;
    for (const user of this.#users.values()) largest = Math.max(largest, user.bytes);
    return {
      kept_bytes: this.#bytes,
      live_bytes: this.#liveBytes,
      budget_bytes: this.#limits.total,
      user_budget_bytes: this.#limits.perUser,
      largest_user_bytes: largest,
      evicted_entries: this.#evicted,
    };
  }

  #resized(account: LogAccount, delta: number): void {
    const user = this.#users.get(account.owner)!;
    user.bytes += delta;
    this.#bytes += delta;
    if (account.live) {
      user.liveBytes += delta;
      this.#liveBytes += delta;
    } else if (account.bytes === 0) {
      // A finished log never grows again: once empty it has nothing left to give.
      user.finished.delete(account);
      this.#finished.delete(account);
    }
    // Evictions resize accounts too; they are part of the reclaim already under way.
    if (delta > 0 && !this.#reclaiming) this.#reclaim(user);
  }

  #reclaim(user: UserLogs): void {
    this.#reclaiming = true;
    try {
      this.#evictDown(() => user.bytes - this.#limits.perUser, user.finished, () => largestLive(user));
      this.#evictDown(() => this.#bytes - this.#limits.total, this.#finished, () => largestLive(this.#largestLiveUser()));
    } finally {
      this.#reclaiming = false;
    }
  }

  /** Evicts from the finished accounts in order, then from the live one `live()` picks, until `over()` is at most 0. */
  #evictDown(over: () => number, finished: Set<LogAccount>, live: () => LogAccount | undefined): void {
    for (const account of finished) {
      if (over() <= 0) return;
      this.#evict(account, over());
    }
    while (over() > 0) {
      const account = live();
      if (account === undefined || !this.#evict(account, over())) return;
    }
  }

  /** Evicts `bytes` or all from one account; false when it had nothing to give. */
  #evict(account: LogAccount, bytes: number): boolean {
    const freed = account.evict(bytes);
    this.#evicted += freed.entries;
    return freed.bytes > 0;
  }

  #largestLiveUser(): UserLogs | undefined {
    let largest: UserLogs | undefined;
    for (const user of this.#users.values()) if (user.liveBytes > (largest?.liveBytes ?? 0)) largest = user;
    return largest;
  }

  #finishedAccount(account: LogAccount): void {
    const user = this.#users.get(account.owner)!;
    user.live.delete(account);
    user.liveBytes -= account.bytes;
    this.#liveBytes -= account.bytes;
    if (account.bytes === 0) return;
    user.finished.add(account);
    this.#finished.add(account);
  }

  #closed(account: LogAccount): void {
    // A finished account that keeps nothing is in no set, so its user's entry may be gone already
    // (their other accounts were closed first): then there is nothing left to take it out of.
    const user = this.#users.get(account.owner);
    if (user === undefined) return;
    user.live.delete(account);
    user.finished.delete(account);
    this.#finished.delete(account);
    if (user.live.size === 0 && user.finished.size === 0) this.#users.delete(account.owner);
  }
}

function largestLive(user: UserLogs | undefined): LogAccount | undefined {
  let largest: LogAccount | undefined;
  for (const account of user?.live ?? []) if (account.bytes > (largest?.bytes ?? 0)) largest = account;
  return largest;
}

interface AccountEvents {
  resized(account: LogAccount, delta: number): void;
  finished(account: LogAccount): void;
  closed(account: LogAccount): void;
}

/**
 * One execution's share of a LogBudget (made by `LogBudget.open()`): its LogBuffer reports what
 * it keeps through `resize()`, and the budget evicts from it through the log it was attached to.
 */
export class LogAccount {
  readonly owner: string;
  readonly #events: AccountEvents;
  #log: EvictableLog | undefined;
  #bytes = 0;
  #live = true;
  #closed = false;

  /** @internal Use LogBudget.open(). */
  constructor(owner: string, events: AccountEvents) {
    this.owner = owner;
    this.#events = events;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** True until the execution finished. */
  get live(): boolean {
    return this.#live;
  }

  /** The log the budget evicts from. */
  attach(log: EvictableLog): void {
    this.#log = log;
  }

  /** The log now keeps `bytes` (entryBytes()); growing past a budget evicts at once. */
  resize(bytes: number): void {
    if (this.#closed) return;
    const delta = bytes - this.#bytes;
    if (delta === 0) return;
    this.#bytes = bytes;
    this.#events.resized(this, delta);
  }

  /** The execution finished: its log is the first to go, in the order of finishing. */
  finish(): void {
    if (!this.#live || this.#closed) return;
    this.#live = false;
    this.#events.finished(this);
  }

  /** The execution is forgotten: its bytes are given back, and its log is counted no more. */
  close(): void {
    if (this.#closed) return;
    this.resize(0);
    this.#closed = true;
    this.#events.closed(this);
  }

  /** @internal The budget's eviction. */
  evict(bytes: number): { readonly entries: number; readonly bytes: number } {
    return this.#log?.evictOldest(bytes) ?? { entries: 0, bytes: 0 };
  }
}

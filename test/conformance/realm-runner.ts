// The part of the reference that runs inside the program's own realm, before and after it:
// how a completion value is awaited and encoded, and how a thrown value or an unhandled
// rejection is named, as the service promises (shared API.md, "Inside a script"; README,
// "The script API"). It is sent into the realm as source text (`REALM_RUNNER_SOURCE`), so it
// uses that realm's intrinsics, captured before the program can replace them, and must not
// refer to anything outside itself.

/** One program's outcome, as plain strings and numbers (the result as JSON text). */
export interface RealmOutcome {
  readonly http: number;
  readonly status: 'completed' | 'error';
  readonly json?: string;
  readonly type?: string;
  readonly error?: string;
}

export interface RealmRunner {
  /** Runs the program through `runScript` and hands its outcome to `settle`, once. */
  run(runScript: () => unknown, settle: (outcome: RealmOutcome) => void): void;
  /** The reason of a rejection nothing handled, as the ERROR entry names it. */
  describeRejection(reason: unknown): string;
}

export function realmRunner(): RealmRunner {
  'use strict';
  const stringify = JSON.stringify;
  const isArray = Array.isArray;
  const StringOf = String;
  const ErrorClass = Error;
  const PromiseClass = Promise;
  const then = Promise.prototype.then;
  const test = RegExp.prototype.test;

  /** A thrown non-Error as the service shows it: strings as they are, objects as JSON. */
  const show = (value: unknown): string => {
    if (typeof value === 'string') return value;
    try {
      if (typeof value === 'function') return `[Function: ${StringOf(value.name) || '(anonymous)'}]`;
      if (typeof value === 'object' && value !== null) {
        const json = stringify(value);
        if (json !== undefined) return json;
      }
      if (typeof value === 'bigint') return `${StringOf(value)}n`;
      return StringOf(value);
    } catch {
      return '[unprintable value]';
    }
  };

  /** An Error as `<name>: <message>` (the name alone for an empty message), anything else as `Uncaught <value>`. */
  const describeThrown = (error: unknown): string => {
    try {
      if (error instanceof ErrorClass) {
        const message = StringOf(error.message);
        return message === '' ? StringOf(error.name) : `${StringOf(error.name)}: ${message}`;
      }
      return `Uncaught ${show(error)}`;
    } catch {
      return 'Uncaught exception';
    }
  };

  const failed = (error: string): RealmOutcome => ({ http: 500, status: 'error', error });

  /** A completion value as the service encodes it: JSON and a type, or the error naming why not. */
  const encode = (value: unknown): RealmOutcome => {
    const kind = typeof value;
    if (kind === 'function') return failed('The result is a function, which cannot be represented as JSON');
    if (kind === 'symbol') return failed('The result is a symbol, which cannot be represented as JSON');
    if (kind === 'undefined') return { http: 200, status: 'completed', json: 'null', type: 'undefined' };
    if (kind === 'bigint') return { http: 200, status: 'completed', json: stringify(StringOf(value)), type: 'bigint' };
    let json: string | undefined;
    try {
      json = stringify(value);
    } catch (error) {
      const message = describeThrown(error);
      if (test.call(/circular/i, message)) return failed('The result is a cyclic object, which cannot be represented as JSON');
      if (test.call(/BigInt/, message)) return failed('The result contains a BigInt, which cannot be represented as JSON');
      return failed(`The result cannot be represented as JSON: ${message}`);
    }
    if (json === undefined) return failed('The result cannot be represented as JSON');
    return { http: 200, status: 'completed', json, type: value === null ? 'null' : isArray(value) ? 'array' : kind };
  };

  return {
    run(runScript, settle) {
      let done = false;
      const end = (ok: boolean, value: unknown): void => {
        if (done) return;
        done = true;
        let outcome: RealmOutcome;
        try {
          outcome = ok ? encode(value) : failed(describeThrown(value));
        } catch (error) {
          outcome = failed(`The result cannot be represented as JSON: ${describeThrown(error)}`);
        }
        settle(outcome);
      };
      let value: unknown;
      try {
        value = runScript();
      } catch (error) {
        return end(false, error);
      }
      // Awaited: a promise, or any object or function with a callable `then`.
      let thenable = false;
      try {
        thenable = value instanceof PromiseClass || (value !== null && (typeof value === 'object' || typeof value === 'function')
          && typeof (value as { then?: unknown }).then === 'function');
      } catch (error) {
        return end(false, error);
      }
      if (!thenable) return end(true, value);
      try {
        const promise = value instanceof PromiseClass ? value : new PromiseClass((resolve) => resolve(value));
        then.call(promise, (result: unknown) => end(true, result), (error: unknown) => end(false, error));
      } catch (error) {
        end(false, error);
      }
    },
    describeRejection(reason) {
      return reason instanceof ErrorClass ? describeThrown(reason) : show(reason);
    },
  };
}

/** `realmRunner` as source text: evaluated in a realm, it gives that realm's runner function. */
export const REALM_RUNNER_SOURCE = `(${realmRunner.toString()})`;

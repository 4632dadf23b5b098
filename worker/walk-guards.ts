// Guards on the Array.prototype methods that walk an array-like's indices inside V8, where the
// request to stop a script is never seen: over a few hundred million holes, or past 2**32, one
// call ran on for good and its isolate was set aside (test/native-builtins/programs.ts). Past
// WALK_LIMIT indices to walk, with a hole at one of the three it looks at (the first, the
// middle and the last of them), such a call fails fast with a RangeError (docs/API.md, "Walks
// that fail fast"). Off unless CHARIOT_WALK_GUARDS is set: it costs every execution and every
// call of these methods (V8 no longer inlines them).
//
// `guardWalks` runs in each fresh Context, before the program, as part of the bootstrap
// (bootstrap.ts sends its source text along): it must not refer to anything outside itself.
// It leaves to V8 what V8 refuses before it walks (a result past 2**32 - 1 elements, a length
// past 2**53 - 1), with V8's own error; it refuses some calls
// V8 would have made quickly (an array with no element at all has fast paths); it looks only at
// arguments that are numbers or left out (converting anything else would run its code once
// more), and at a length that is a number or a string. Each guard keeps the name, `length`
// and source text of the method it stands for; a stack trace through one shows both.

export function guardWalks(): void {
  'use strict';
  /** Indices a walk may cover before its holes are looked at. */
  const LIMIT = 16_777_216;
  const MAX_LENGTH = 9007199254740991;
  const MAX_ARRAY = 4294967295;
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const isArray = Array.isArray;
  const NumberOf = Number;
  const trunc = Math.trunc;
  const floor = Math.floor;
  const min = Math.min;
  const max = Math.max;
  const RangeErrorClass = RangeError;
  const weakGet = WeakMap.prototype.get;
  const weakSet = WeakMap.prototype.set;
  const functionToString = Function.prototype.toString;
  /** Each guard, and the patched toString, to the built-in whose source text it shows. */
  const standsFor = new WeakMap<object, object>();
  const arrayMethods = Array.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;

  /** Indices [from, to) a call walks, or undefined when it is not looked at. */
  type Walk = readonly [from: number, to: number] | undefined;
  type Span = (length: number, args: readonly unknown[]) => Walk;

  /** An index argument relative to the length (ToIntegerOrInfinity, then clamped), or NaN. */
  const relative = (arg: unknown, length: number, missing: number): number => {
    if (arg === undefined) return missing;
    if (typeof arg !== 'number') return Number.NaN;
    const n = arg !== arg ? 0 : trunc(arg);
    return n < 0 ? max(length + n, 0) : min(n, length);
  };
  const range = (from: number, to: number): Walk => (from === from && to === to ? [from, to] : undefined);
  const whole: Span = (length) => [0, length];
  /** A new array of `length` elements: past MAX_ARRAY, V8 refuses it before it walks. */
  const copy: Span = (length) => (length <= MAX_ARRAY ? [0, length] : undefined);
  const fromIndex: Span = (length, [, from]) => range(relative(from, length, 0), length);
  const spans: Readonly<Record<string, Span>> = {
    indexOf: fromIndex,
    includes: fromIndex,
    lastIndexOf: (length, args) => {
      if (args.length < 2) return [0, length];
      const from = args[1];
      if (typeof from !== 'number') return undefined;
      const n = from !== from ? 0 : trunc(from);
      return [0, max(0, (n >= 0 ? min(n, length - 1) : length + n) + 1)];
    },
    every: whole, some: whole, forEach: whole, filter: whole, reduce: whole, reduceRight: whole,
    reverse: whole, sort: whole, flat: whole, flatMap: whole, shift: whole,
    map: copy, toReversed: copy, toSorted: copy,
    with: (length, [index]) => {
      // An index out of range is V8's RangeError, before anything is copied.
      const n = typeof index === 'number' ? (index !== index ? 0 : trunc(index)) : Number.NaN;
      return n >= -length && n < length ? copy(length, []) : undefined;
    },
    join: copy,
    toLocaleString: copy,
    fill: (length, [, start, end]) => range(relative(start, length, 0), relative(end, length, length)),
    copyWithin: (length, [target, start, end]) => {
      const to = relative(target, length, 0);
      const from = relative(start, length, 0);
      const count = min(relative(end, length, length) - from, length - to);
      return range(from, from + max(count, 0));
    },
    slice: (length, [start, end]) => {
      const walk = range(relative(start, length, 0), relative(end, length, length));
      return walk !== undefined && walk[1] - walk[0] <= MAX_ARRAY ? walk : undefined;
    },
    splice: (length, args) => {
      const start = relative(args[0], length, 0);
      const deleteCount = args.length === 0 ? 0 : args.length === 1 ? length - start
        : typeof args[1] === 'number' ? min(max(args[1] !== args[1] ? 0 : trunc(args[1]), 0), length - start) : Number.NaN;
      const items = max(args.length - 2, 0);
      if (deleteCount !== deleteCount || length - deleteCount + items > MAX_LENGTH || deleteCount > MAX_ARRAY) return undefined;
      return range(start, items === deleteCount ? start + deleteCount : length);
    },
    toSpliced: (length, args) => {
      const start = relative(args[0], length, 0);
      const skip = args.length === 0 ? 0 : args.length === 1 ? length - start
        : typeof args[1] === 'number' ? min(max(args[1] !== args[1] ? 0 : trunc(args[1]), 0), length - start) : Number.NaN;
      const newLength = length + max(args.length - 2, 0) - skip;
      return skip === skip && newLength <= MAX_ARRAY ? [0, length] : undefined;
    },
    unshift: (length, args) => (args.length > 0 && length + args.length <= MAX_LENGTH ? [0, length] : undefined),
  };
  /** `includes` walks an array fast whatever its holes; only other array-likes slowly. */
  const arraysWalkFast: Readonly<Record<string, true>> = { includes: true };

  const refuse = (receiver: unknown, name: string, args: readonly unknown[]): void => {
    if ((typeof receiver !== 'object' || receiver === null) && typeof receiver !== 'function') return;
    if (arraysWalkFast[name] === true && isArray(receiver)) return;
    const raw = (receiver as { length?: unknown }).length;
    const number = typeof raw === 'string' ? NumberOf(raw) : raw;
    if (typeof number !== 'number' || !(number > LIMIT)) return;
    const length = min(floor(number), MAX_LENGTH);
    const walk = spans[name]!(length, args);
    if (walk === undefined || !(walk[1] - walk[0] > LIMIT)) return;
    const [from, to] = walk;
    const object = receiver as object;
    if (from in object && floor((from + to - 1) / 2) in object && to - 1 in object) return;
    throw new RangeErrorClass(`Array.prototype.${name} refuses to walk ${to - from} indices of an array-like with holes: `
      + `past ${LIMIT}, V8 would walk them without checking the time limit`);
  };

  for (const name of Object.keys(spans)) {
    const original = arrayMethods[name];
    if (typeof original !== 'function') continue;
    const guard = {
      [name](this: unknown, ...args: unknown[]): unknown {
        refuse(this, name, args);
        return apply(original, this, args);
      },
    }[name]!;
    defineProperty(guard, 'length', { value: original.length, configurable: true });
    apply(weakSet, standsFor, [guard, original]);
    defineProperty(arrayMethods, name, { value: guard, writable: true, enumerable: false, configurable: true });
  }
  const toString = {
    toString(this: unknown): string {
      return apply(functionToString, apply(weakGet, standsFor, [this]) ?? this, []) as string;
    },
  }.toString;
  apply(weakSet, standsFor, [toString, functionToString]);
  defineProperty(Function.prototype, 'toString', { value: toString, writable: true, enumerable: false, configurable: true });
}

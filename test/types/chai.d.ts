// Types for the part of chai 6 the tests use. chai 6 ships no declarations and @types/chai is
// not a dependency; an ambient module declaration is found before node_modules/@types, so this
// file keeps working (and wins) if @types/chai is added later. Delete it then if you prefer
// the full upstream types.
declare module 'chai' {
  export interface Assertion {
    // Language chains: no effect on the assertion.
    readonly to: Assertion;
    readonly be: Assertion;
    readonly been: Assertion;
    readonly is: Assertion;
    readonly that: Assertion;
    readonly which: Assertion;
    readonly and: Assertion;
    readonly has: Assertion;
    readonly have: Assertion;
    readonly with: Assertion;
    readonly at: Assertion;
    readonly of: Assertion;
    readonly does: Assertion;

    // Flags.
    readonly not: Assertion;
    readonly deep: Assertion;
    readonly all: Assertion;
    readonly any: Assertion;
    readonly own: Assertion;
    readonly ordered: Assertion;

    // Property assertions.
    readonly true: Assertion;
    readonly false: Assertion;
    readonly null: Assertion;
    readonly undefined: Assertion;
    readonly ok: Assertion;
    readonly empty: Assertion;
    readonly exist: Assertion;

    equal(expected: unknown, message?: string): Assertion;
    eql(expected: unknown, message?: string): Assertion;
    a(type: string, message?: string): Assertion;
    an(type: string, message?: string): Assertion;
    include(needle: unknown, message?: string): Assertion;
    match(pattern: RegExp, message?: string): Assertion;
    keys(...keys: string[]): Assertion;
    keys(keys: readonly string[]): Assertion;
    lengthOf(length: number, message?: string): Assertion;
    above(value: number, message?: string): Assertion;
    below(value: number, message?: string): Assertion;
    least(value: number, message?: string): Assertion;
    most(value: number, message?: string): Assertion;
    within(low: number, high: number, message?: string): Assertion;
    oneOf(list: readonly unknown[], message?: string): Assertion;
    members(set: readonly unknown[], message?: string): Assertion;
    property(name: string, value?: unknown, message?: string): Assertion;
    satisfy(matcher: (value: never) => boolean, message?: string): Assertion;
  }

  export interface ExpectStatic {
    (value: unknown, message?: string): Assertion;
    fail(message?: string): never;
  }

  export const expect: ExpectStatic;
}

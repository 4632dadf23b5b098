// The scripts the scenarios run, in one place, so that every target runs the same text.

/** The trivial execution of scenario 1. */
export const TRIVIAL = '1+2';

/**
 * An execution that logs once, then awaits a minute without using its thread: what the memory
 * scenario holds N of at once. It is cancelled long before the default wall limit of 60 s.
 */
export const AWAITING = 'logPrint("awaiting");\nawait sleep(60000);\n0';

/** Naive recursive Fibonacci: the CPU-bound work, as plain Node code. */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** The same function as a script for the sandboxes: its source text, then a call. */
export function fibProgram(n: number): string {
  return `${fib.toString().replace(/: number/g, '')} fib(${n})`;
}

export function fibValue(n: number): number {
  let [a, b] = [0, 1];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

/**
 * A script that sleeps until `startAt` (epoch ms), then logs `entries` times, one entry every
 * `intervalMs`, each scheduled from `startAt` so that the rate stays steady however long an
 * entry took. Starting at an agreed instant lets every subscriber connect first.
 */
export function steadyLogger(startAt: number, entries: number, intervalMs: number): string {
  return [
    `const startAt = ${startAt};`,
    `for (let i = 0; i < ${entries}; i++) {`,
    `  await sleep(startAt + i * ${intervalMs} - Date.now());`,
    '  logPrint("entry", i);',
    '}',
    `${entries}`,
  ].join('\n');
}

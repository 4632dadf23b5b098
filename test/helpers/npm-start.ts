// The node flags of `npm start`, read from package.json's `start` script, so that the tests and
// the benchmarks start the server exactly as it starts in use and cannot drift from it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (dist/test/helpers → ../../..): `npm start` runs there, and its relative flags mean it. */
export const APP_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The entry point `npm start` runs, relative to APP_ROOT. */
export const ENTRY = 'dist/src/main.js';

/**
 * The words between `node` and the entry point in the last command of the `start` script,
 * expanded by the shell as npm would (in APP_ROOT, with the Node that runs this process first
 * on PATH, so that what the script asks of `node` is asked of this one).
 */
export function npmStartFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(`${APP_ROOT}package.json`, 'utf8')) as { scripts: { start: string } };
  const command = scripts.start.split(' && ').at(-1)!;
  const words = new RegExp(`^node (.*) ${ENTRY.replace(/[./]/g, '\\$&')}$`).exec(command)?.[1];
  if (words === undefined) throw new Error(`the start script does not end in "node … ${ENTRY}": ${scripts.start}`);
  const printed = execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${words}`], {
    cwd: APP_ROOT,
    env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` },
    encoding: 'utf8',
  });
  return printed.split('\n').filter((word) => word !== '');
}

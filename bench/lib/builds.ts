// The builds of chariot-exec the harness can run as servers under test: this checkout's, and
// (`--against <ref>`) another commit's, checked out in a temporary git worktree, given
// node_modules, built, and removed again at the end of the run, or when the run fails or is
// interrupted.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, rmSync, unlinkSync } from 'node:fs';
import { mkdtemp, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { APP_ROOT } from '../../test/helpers/npm-start.js';

/** A built checkout of chariot-exec whose harness entry can be run (processes.ts). */
export interface ChariotBuild {
  /** What the tables and the JSON call its server: "chariot", or "chariot@<short commit>". */
  readonly label: string;
  /** The checkout's root: its server process runs there. */
  readonly root: string;
  /** Its compiled bench/lib/chariot-process.ts. */
  readonly entry: string;
}

/** This checkout, as built by `npm run bench`. */
export const THIS_BUILD: ChariotBuild = Object.freeze({
  label: 'chariot',
  root: APP_ROOT,
  entry: fileURLToPath(new URL('./chariot-process.js', import.meta.url)),
});

/** Another commit's build, in a worktree of its own until close(). */
export interface AgainstBuild extends ChariotBuild {
  /** The ref as given on the command line. */
  readonly ref: string;
  readonly commit: string;
  /** "linked": its package-lock.json is this checkout's, so is its node_modules; "installed": npm ci. */
  readonly nodeModules: 'linked' | 'installed';
  /** Seconds spent making the worktree, its node_modules and its build. */
  readonly prepareS: number;
  /** Removes the worktree. Idempotent. */
  close(): Promise<void>;
}

const run = promisify(execFile);
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The Node that runs the harness runs npm's scripts too (npm's shebang finds `node` on PATH). */
function toolEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', cwd, ...args], { encoding: 'utf8' });
  return stdout.trim();
}

/**
 * Runs npm in a process group of its own (`detached`), so that an interrupted run can stop it
 * and everything it started (sh, tsc) before removing the folder they write in.
 */
function npm(cwd: string, args: readonly string[], started: (child: ChildProcess) => void): Promise<void> {
  const child = spawn('npm', args, { cwd, env: toolEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started(child);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`npm ${args.join(' ')} in ${cwd} ended with ${signal ?? `exit code ${code}`}:\n${output}`));
    });
  });
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([readFile(a).catch(() => null), readFile(b).catch(() => null)]);
  return x !== null && y !== null && x.equals(y);
}

/**
 * Checks out `ref` (any commit-ish of this checkout's repository) with `git worktree add
 * --detach` in a new temporary folder, links this checkout's node_modules there when the two
 * package-lock.json files are identical (otherwise runs `npm ci` there), and runs its
 * `npm run build`. The worktree is removed by close(), when preparing fails, and on SIGINT,
 * SIGTERM or SIGHUP before close().
 */
export async function prepareAgainst(ref: string, log: (line: string) => void): Promise<AgainstBuild> {
  const began = performance.now();
  let commit: string;
  try {
    commit = await git(APP_ROOT, 'rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`);
  } catch {
    throw new Error(`--against: "${ref}" is not a commit of the repository at ${APP_ROOT}`);
  }
  const short = await git(APP_ROOT, 'rev-parse', '--short', commit);
  const root = join(await mkdtemp(join(tmpdir(), 'chariot-against-')), short);
  const linked = join(root, 'node_modules');
  let nodeModules: AgainstBuild['nodeModules'] = 'installed';
  let removed = false;
  let npmChild: ChildProcess | undefined;

  // Synchronous: nothing else runs before it is done, whoever calls it.
  const remove = (): void => {
    if (removed) return;
    removed = true;
    for (const signal of SIGNALS) process.off(signal, listener);
    // The link first, whatever git does with it: what it points at is this checkout's own.
    if (lstatSync(linked, { throwIfNoEntry: false })?.isSymbolicLink()) unlinkSync(linked);
    try {
      execFileSync('git', ['-C', APP_ROOT, 'worktree', 'remove', '--force', root], { stdio: 'ignore' });
    } catch {
      rmSync(root, { recursive: true, force: true });
      execFileSync('git', ['-C', APP_ROOT, 'worktree', 'prune'], { stdio: 'ignore' });
    }
    rmSync(dirname(root), { recursive: true, force: true });
  };
  // An interrupted build is stopped first: tsc would otherwise write into the removed folder.
  async function onSignal(signal: NodeJS.Signals): Promise<void> {
    if (npmChild !== undefined && npmChild.exitCode === null && npmChild.signalCode === null) {
      const exited = once(npmChild, 'exit');
      process.kill(-npmChild.pid!, 'SIGKILL');
      await exited;
    }
    remove();
    process.kill(process.pid, signal);
  }
  const listener = (signal: NodeJS.Signals): void => void onSignal(signal);
  for (const signal of SIGNALS) process.once(signal, listener);

  try {
    log(`--against ${ref}: worktree of ${short} in ${root}`);
    await git(APP_ROOT, 'worktree', 'add', '--detach', root, commit);
    if (await sameFile(join(root, 'package-lock.json'), join(APP_ROOT, 'package-lock.json'))) {
      await symlink(join(APP_ROOT, 'node_modules'), linked, 'dir');
      nodeModules = 'linked';
    } else {
      log(`  its package-lock.json differs from this checkout's: npm ci there`);
      await npm(root, ['ci', '--no-audit', '--no-fund'], (child) => (npmChild = child));
    }
    await npm(root, ['run', 'build'], (child) => (npmChild = child));
    const entry = join(root, 'dist/bench/lib/chariot-process.js');
    if (!existsSync(entry)) throw new Error(`--against ${ref}: its build has no dist/bench/lib/chariot-process.js (the harness's server entry)`);
    const prepareS = Math.round((performance.now() - began) / 100) / 10;
    log(`  built (node_modules ${nodeModules}) in ${prepareS} s`);
    return { label: `chariot@${short}`, root, entry, ref, commit, nodeModules, prepareS, close: async () => remove() };
  } catch (error) {
    remove();
    throw error;
  }
}

/**
 * Whether a build's server reads the configuration variable `name`: its name appears in the
 * files of src/ or worker/ (tracked or not) of that checkout.
 */
export async function buildReads(build: ChariotBuild, name: string): Promise<boolean> {
  try {
    await run('git', ['-C', build.root, 'grep', '--quiet', '--untracked', '--fixed-strings', name, '--', 'src', 'worker']);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 1) return false;
    throw error;
  }
}

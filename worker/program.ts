// Turns the submitted source into the script the sandbox compiles.
//
// A plain script is run as it is: `logPrint("Test"); 1+2` completes with 3. Two things are
// rewritten, and only when the source mentions them:
// - Top-level `await` (which a classic script does not allow): the program is wrapped in an
//   async function, its last expression statement becoming the return value, the way Node's
//   REPL does it: `await sleep(10); 5` gives 5.
// - `import(…)`: V8 refuses it at once when its host has no module loader (isolated-vm has
//   none), before converting the specifier as the language says it must. Each call becomes a
//   call of a stand-in global that converts the specifier and options in order, then rejects.
// Anything that parses neither way is left for V8 to reject, so the user sees V8's own
// SyntaxError.
//
// acorn's parse is not linear in the source (its scopes keep declared names in arrays, and a
// `var` is added to every block around it), so a program longer than ON_THREAD_CHARS is
// rewritten inside its own isolate, under its own limits: PREPARER_SOURCE (run.ts says when).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse, type Node, type Program } from 'acorn';

/** The global the bootstrap installs for programs that call import() (see bootstrap.ts). */
export const IMPORT_STAND_IN = '__chariotImport';

/**
 * Programs of at most this many UTF-16 characters are rewritten and compiled on the worker
 * thread itself; longer ones in their isolate, off the thread (docs/API.md "Before a program
 * runs" has the measurements).
 */
export const ON_THREAD_CHARS = 2048;

export interface PreparedProgram {
  readonly source: string;
  /** True when the source calls import(), so the sandbox installs IMPORT_STAND_IN. */
  readonly callsImport: boolean;
}

/** What a rewrite may be needed for: the words appear somewhere (in code, a string or a comment). */
export function mentions(source: string): { readonly await: boolean; readonly import: boolean } {
  return { await: source.includes('await'), import: source.includes('import') };
}

/**
 * The rewrite, given acorn's `parse`. It is sent to isolates as source text (PREPARER_SOURCE),
 * so it must not refer to anything outside itself: no imports, no helpers, no closures.
 */
export function rewrite(parseWith: typeof parse, original: string, standIn: string): PreparedProgram {
  const keyword = 'import';
  const mentionsAwait = original.includes('await');
  const mentionsImport = original.includes(keyword);
  const unchanged = { source: original, callsImport: false };
  // Most programs mention neither: skip the parse.
  if (!mentionsAwait && !mentionsImport) return unchanged;
  const parses = (allowAwaitOutsideFunction: boolean): Program | undefined => {
    try {
      return parseWith(original, { ecmaVersion: 'latest', sourceType: 'script', allowAwaitOutsideFunction });
    } catch {
      return undefined;
    }
  };
  /** Start offsets of every `import(…)` call in the tree, in source order. */
  const importCalls = (tree: Program): number[] => {
    const found: number[] = [];
    const visit = (value: unknown): void => {
      if (typeof value !== 'object' || value === null) return;
      if (Array.isArray(value)) {
        for (const child of value) visit(child);
        return;
      }
      if ((value as Node).type === 'ImportExpression') found.push((value as Node).start);
      for (const child of Object.values(value)) visit(child);
    };
    try {
      visit(tree);
    } catch {
      // A tree deep enough to exhaust the stack here: left as it is (V8 refuses its import()).
      return [];
    }
    return found.sort((a, b) => a - b);
  };

  let ast = parses(false);
  const topLevelAwait = ast === undefined;
  if (topLevelAwait) ast = mentionsAwait ? parses(true) : undefined;
  if (ast === undefined) return unchanged;

  const calls = mentionsImport ? importCalls(ast) : [];
  const growth = standIn.length - keyword.length;
  /** Where an offset of the original stands once the calls before it are renamed. */
  const moved = (offset: number): number => offset + growth * calls.filter((start) => start < offset).length;
  // One pass: the source is copied once however many calls it has.
  const pieces: string[] = [];
  let copied = 0;
  for (const start of calls) {
    pieces.push(original.slice(copied, start), standIn);
    copied = start + keyword.length;
  }
  pieces.push(original.slice(copied));
  let source = pieces.join('');
  if (topLevelAwait) {
    const last = ast.body.at(-1);
    if (last?.type === 'ExpressionStatement') {
      const expression = source.slice(moved(last.expression.start), moved(last.expression.end));
      source = `${source.slice(0, moved(last.start))}return (${expression});${source.slice(moved(last.end))}`;
    }
    // Kept on the program's first line so that line numbers in errors still match.
    source = `(async () => {${source}\n})()`;
  }
  return { source, callsImport: calls.length > 0 };
}

/** The rewrite on this thread. */
export function prepareProgram(original: string): PreparedProgram {
  return rewrite(parse, original, IMPORT_STAND_IN);
}

/** acorn's CommonJS build: the same parser as the import above, as source text for isolates. */
const ACORN_SOURCE = readFileSync(createRequire(import.meta.url).resolve('acorn'), 'utf8');

/**
 * Source text for `isolate.compileScript` that evaluates, in a context of its own, to a function
 * from the original source to its PreparedProgram, acorn inside it and no global defined. Whatever
 * the rewrite throws (a RangeError from a string too long to build, say) leaves the source as
 * it is, as a parse that fails does.
 */
export const PREPARER_SOURCE = `(function () {
  const module = { exports: {} };
  const exports = module.exports;
${ACORN_SOURCE}
  const rewrite = ${rewrite.toString()};
  const parse = module.exports.parse;
  return function prepare(original) {
    try {
      return rewrite(parse, original, ${JSON.stringify(IMPORT_STAND_IN)});
    } catch {
      return { source: original, callsImport: false };
    }
  };
})()`;

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
import { parse, type Node, type Program } from 'acorn';

/** The global the bootstrap installs for programs that call import() (see bootstrap.ts). */
export const IMPORT_STAND_IN = '__chariotImport';
const IMPORT_KEYWORD = 'import';

export interface PreparedProgram {
  readonly source: string;
  /** True when the source calls import(), so the sandbox installs IMPORT_STAND_IN. */
  readonly callsImport: boolean;
}

function parses(source: string, allowAwaitOutsideFunction: boolean): Program | undefined {
  try {
    return parse(source, { ecmaVersion: 'latest', sourceType: 'script', allowAwaitOutsideFunction });
  } catch {
    return undefined;
  }
}

/** Start offsets of every `import(…)` call in the tree, in source order. */
function importCalls(ast: Program): number[] {
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
    visit(ast);
  } catch {
    // A tree deep enough to exhaust the stack here: left as it is (V8 refuses its import()).
    return [];
  }
  return found.sort((a, b) => a - b);
}

export function prepareProgram(original: string): PreparedProgram {
  const mentionsAwait = original.includes('await');
  const mentionsImport = original.includes(IMPORT_KEYWORD);
  const unchanged = { source: original, callsImport: false };
  // Most programs mention neither: skip the parse.
  if (!mentionsAwait && !mentionsImport) return unchanged;
  let ast = parses(original, false);
  const topLevelAwait = ast === undefined;
  if (topLevelAwait) ast = mentionsAwait ? parses(original, true) : undefined;
  if (ast === undefined) return unchanged;

  const calls = mentionsImport ? importCalls(ast) : [];
  const growth = IMPORT_STAND_IN.length - IMPORT_KEYWORD.length;
  /** Where an offset of the original stands once the calls before it are renamed. */
  const moved = (offset: number): number => offset + growth * calls.filter((start) => start < offset).length;
  // One pass: the source is copied once however many calls it has.
  const pieces: string[] = [];
  let copied = 0;
  for (const start of calls) {
    pieces.push(original.slice(copied, start), IMPORT_STAND_IN);
    copied = start + IMPORT_KEYWORD.length;
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

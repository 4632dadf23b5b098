// Turns the submitted source into a script whose completion value is the result.
//
// A plain script is run as it is: `logPrint("Test"); 1+2` completes with 3. A script with
// top-level `await` (which a classic script does not allow) is wrapped in an async function,
// its last expression statement becoming the return value, the way Node's REPL does it:
// `await sleep(10); 5` gives 5. Anything that parses neither way is left for V8 to reject, so
// the user sees V8's own SyntaxError.
import { parse, type Program } from 'acorn';

function parses(source: string, allowAwaitOutsideFunction: boolean): Program | undefined {
  try {
    return parse(source, { ecmaVersion: 'latest', sourceType: 'script', allowAwaitOutsideFunction });
  } catch {
    return undefined;
  }
}

export function prepareProgram(source: string): string {
  // Most programs never mention await: skip the parse.
  if (!source.includes('await') || parses(source, false) !== undefined) return source;
  const ast = parses(source, true);
  if (ast === undefined) return source;
  const last = ast.body.at(-1);
  let body = source;
  if (last?.type === 'ExpressionStatement') {
    const expression = source.slice(last.expression.start, last.expression.end);
    body = `${source.slice(0, last.start)}return (${expression});${source.slice(last.end)}`;
  }
  // Kept on the program's first line so that line numbers in errors still match.
  return `(async () => {${body}\n})()`;
}

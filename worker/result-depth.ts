// How deeply a result may nest. The main thread parses each result and serialises it again in
// every answer that carries it, and on Node 24 JSON.stringify recurses once per level: a result
// some 4,400 levels deep passed the sandbox, then overflowed the main thread's stack (a
// plain-text 500). A result deeper than this is an error of its execution instead.

/** Arrays and objects a result may nest, counting its outermost one: `[[1]]` is 2. */
export const MAX_RESULT_DEPTH = 1000;

/** True when the JSON text `json` nests arrays and objects more than `limit` deep. One pass, no recursion. */
export function nestedDeeperThan(json: string, limit: number): boolean {
  // Each level takes two characters at least.
  if (json.length <= 2 * limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (inString) {
      if (code === 0x5c /* \ */) i++;
      else if (code === 0x22 /* " */) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b /* [ */ || code === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (code === 0x5d /* ] */ || code === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

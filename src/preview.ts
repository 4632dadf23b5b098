// The preview of a program that GET /api/executions lists: its runs of white space folded to
// one space, trimmed, cut at 120 characters with '…'. Made once per execution, reading only as
// far into the program as those characters take.

/** Characters of a preview, the '…' of a cut one included. */
export const PREVIEW_CHARS = 120;

/** The first character that is not white space (as `\s` and String#trim define it). */
const NOT_WHITE = /\S/g;
const WHITE = /\s/;

/**
 * The string that folding the whole program gives, `flat.length > 120 ? flat.slice(0, 119) + '…'
 * : flat` where `flat = program.replace(/\s+/g, ' ').trim()`, surrogate pairs split by that
 * slice included; but it stops reading at the 121st folded character.
 */
export function programPreview(program: string): string {
  const chars = PREVIEW_CHARS;
  // The folded program's start; a character past `chars` shows that it is longer.
  let text = '';
  let at = 0;
  while (text.length <= chars) {
    NOT_WHITE.lastIndex = at;
    const word = NOT_WHITE.exec(program);
    if (word === null) break;
    if (text !== '') text += ' ';
    const piece = program.slice(word.index, word.index + chars + 1 - text.length);
    const end = piece.search(WHITE);
    text += end === -1 ? piece : piece.slice(0, end);
    at = word.index + (end === -1 ? piece.length : end);
  }
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

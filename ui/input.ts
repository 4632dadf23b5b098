// Input to the running script's input(): over the page's WebSocket when it is open, else
// POST /api/execution/:id/input. Messages go out one after the other (a POST waits for the
// one before it to be answered), so lines arrive in the order they were typed whichever way
// each goes. A socket answers an input only to refuse it, so one that hears nothing within
// QUIET_MS counts as taken.
import { call, errorMessage } from './api.js';
import { pageSocket } from './socket.js';

export type InputMessage = { readonly data: string } | { readonly end: true };

const QUIET_MS = 1000;

/** Resolves when the message before the next one has gone out. */
let turn: Promise<void> = Promise.resolve();

/** Sends one message; resolves with the reason it was refused, or undefined when it was taken. */
export async function sendInput(execId: string, message: InputMessage): Promise<string | undefined> {
  const mine = turn;
  let sent!: () => void;
  turn = new Promise((resolve) => (sent = resolve));
  await mine;
  const asked = pageSocket.ask({ type: 'input', execution_id: execId, ...message }, QUIET_MS);
  if (asked !== false) {
    sent();
    const answer = await asked;
    return answer?.type === 'error' ? String(answer.error) : undefined;
  }
  try {
    const res = await call('POST', `/api/execution/${encodeURIComponent(execId)}/input`, message);
    return res.status === 202 ? undefined : errorMessage(res);
  } finally {
    sent();
  }
}

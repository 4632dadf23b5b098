// The input of one running execution, on the main thread: the messages sent to it (POST
// .../input, the WebSocket) that its script has not taken yet, in order, within
// CHARIOT_INPUT_MAX_QUEUED and CHARIOT_INPUT_MAX_BYTES, and how many input() calls of the
// script wait for one. The worker asks once per input() call ('input-wanted'); each ask gets
// exactly one answer, now or when the next message comes, so answers reach the calls in order.
// In memory mode only: in Redis mode the same rules hold across instances (src/redis/input.ts).
import { InputEndedError, TooMuchInputError } from './errors.js';

/** One message for a script's input(): a string, or the end of its input (input() then resolves null). */
export type InputMessage = { readonly data: string } | { readonly end: true };

export interface InputLimits {
  /** Messages that may wait undelivered (CHARIOT_INPUT_MAX_QUEUED). */
  readonly maxQueued: number;
  /** UTF-8 bytes of the messages that may wait undelivered, and of any one message (CHARIOT_INPUT_MAX_BYTES). */
  readonly maxBytes: number;
}

export class InputQueue {
  readonly #limits: InputLimits;
  readonly #waiting: string[] = [];
  #bytes = 0;
  /** The end was sent by the client; it goes to the script after the messages before it. */
  #ended = false;
  /** input() calls of the script asked for and not answered. */
  #wanted = 0;

  constructor(limits: InputLimits) {
    this.#limits = limits;
  }

  /** Messages waiting undelivered (the end is not counted). */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * A message from the client: the answer to send the script now when an input() waits for one,
   * else undefined (kept for the next input()). InputEndedError after the end, TooMuchInputError
   * past the limits (nothing kept is lost).
   */
  offer(message: InputMessage): InputMessage | undefined {
    if (this.#ended) throw new InputEndedError();
    if ('end' in message) {
      this.#ended = true;
      // With an input() waiting, nothing else waits: one end answers every call there.
      if (this.#wanted === 0) return undefined;
      this.#wanted = 0;
      return message;
    }
    const bytes = Buffer.byteLength(message.data);
    if (bytes > this.#limits.maxBytes) throw new TooMuchInputError('message', bytes, this.#limits);
    if (this.#wanted > 0) {
      this.#wanted--;
      return message;
    }
    if (this.#waiting.length >= this.#limits.maxQueued) throw new TooMuchInputError('messages', bytes, this.#limits);
    if (this.#bytes + bytes > this.#limits.maxBytes) throw new TooMuchInputError('bytes', bytes, this.#limits);
    this.#waiting.push(message.data);
    this.#bytes += bytes;
    return undefined;
  }

  /** The script asks for a message: the answer to send it now, or undefined until one comes. */
  want(): InputMessage | undefined {
    const data = this.#waiting.shift();
    if (data !== undefined) {
      this.#bytes -= Buffer.byteLength(data);
      return { data };
    }
    if (this.#ended) return { end: true };
    this.#wanted++;
    return undefined;
  }
}

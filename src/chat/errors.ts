// The error of everything in src/chat: a message, tool or tool call that cannot be rendered, or a chat template
// that does not parse or fails while rendering.

import { InputError } from '../../reference/errors.js';

/**
 * What went wrong:
 *   'message'         a message has an unknown role, a bad content value, or an unsupported (e.g. image) part.
 *   'tool'            a tool definition is not an object with a name (or not plain JSON).
 *   'tool-call'       an assistant tool call is malformed (arguments not JSON text of an object, bad name, ...).
 *   'template-syntax' the jinja template does not parse.
 *   'template-render' the jinja template failed while rendering (including its own `raise_exception`).
 * An InputError (code 'E_CHAT_TEMPLATE'); `param` names the request field for the first three kinds
 * (`messages[2].content[0].text`, `tools[1].function.parameters`), as OpenAI's error object does.
 */
export type ChatTemplateErrorKind = 'message' | 'tool' | 'tool-call' | 'template-syntax' | 'template-render';

export class ChatTemplateError extends InputError {
  readonly kind: ChatTemplateErrorKind;
  constructor(kind: ChatTemplateErrorKind, message: string, opts: { cause?: unknown; param?: string } = {}) {
    super(message, { code: 'E_CHAT_TEMPLATE', param: opts.param });
    this.kind = kind;
    if (opts.cause !== undefined) this.cause = opts.cause;
  }
}

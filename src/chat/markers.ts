// The LFM2 / LFM2.5 marker tokens that chat code writes or looks for as text (generation tracks them by id).

export const THINK_START = '<think>';
export const THINK_END = '</think>';
export const TOOL_CALL_START = '<|tool_call_start|>';
export const TOOL_CALL_END = '<|tool_call_end|>';

/**
 * Puts streamed tool calls together from their deltas (OpenAI's wire format). A delta names
 * its call by `index` (OpenAI, vLLM, llama.cpp, Ollama), or, when it has none (Gemini's
 * OpenAI-compatible endpoint sends whole calls without one), by `id`; a delta with neither
 * starts a new call when it carries a name and continues the last one otherwise. Calls come
 * out in the order they started.
 */

/** One tool_calls entry of a stream chunk's delta. */
export interface ToolCallDelta {
  index?: number | undefined | null;
  id?: string | undefined | null;
  function?: { name?: string | undefined | null; arguments?: string | undefined | null } | undefined | null;
}

/** A call as assembled so far. */
export interface AssembledCall {
  id: string;
  name: string;
  arguments: string;
}

export class ToolCallAssembler {
  private readonly byKey = new Map<string, AssembledCall>();
  private last: AssembledCall | undefined;
  private unnamed = 0;

  /** Adds a delta to the call it belongs to. */
  add(delta: ToolCallDelta): void {
    const call = this.callOf(delta);
    if (delta.id) call.id = delta.id;
    if (delta.function?.name) call.name += delta.function.name;
    if (delta.function?.arguments) call.arguments += delta.function.arguments;
    this.last = call;
  }

  /** The calls, in the order they started. */
  calls(): AssembledCall[] {
    return [...this.byKey.values()];
  }

  private callOf(delta: ToolCallDelta): AssembledCall {
    const key =
      typeof delta.index === 'number'
        ? `index:${delta.index}`
        : delta.id
          ? `id:${delta.id}`
          : delta.function?.name || this.last === undefined
            ? `new:${this.unnamed++}`
            : undefined;
    if (key === undefined) return this.last!;
    let call = this.byKey.get(key);
    if (call === undefined) {
      call = { id: '', name: '', arguments: '' };
      this.byKey.set(key, call);
    }
    return call;
  }
}

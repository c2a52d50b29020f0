/**
 * Pages: what the memory manager writes when it pages part of a working set out. A
 * page's text is the exact rendering of its messages (what full-text and vector search
 * index, and what recall gives back); the messages themselves are kept with it as JSON,
 * so every evicted byte can be paged back in. Without a model to summarise, a page's
 * stub gets an extractive summary.
 */
import type { Message } from '../cpu/model.js';
import type { ContextEntry } from './working-context.js';

/** The text of a page: each message on its own, with the operation it came from. */
export function renderPage(entries: readonly ContextEntry[]): string {
  return entries.map((entry) => `[operation ${entry.op}] ${renderMessage(entry.message)}`).join('\n\n');
}

/** One message as text: who said it, what, and the tool calls it made. */
export function renderMessage(message: Message): string {
  switch (message.role) {
    case 'assistant': {
      const calls = (message.toolCalls ?? []).map(
        (call) => `${call.name}(${JSON.stringify(call.arguments)})`,
      );
      return `assistant: ${message.content}${calls.length === 0 ? '' : `\ntool calls: ${calls.join(', ')}`}`;
    }
    case 'tool':
      return `tool ${message.name}${message.isError ? ' (error)' : ''}: ${message.content}`;
    default:
      return `${message.role}: ${message.content}`;
  }
}

/**
 * A summary made of the page's own words, for when no model writes one: the first
 * sentence of each answer, the tools called, the first line of each result; at most
 * about `limit` characters.
 */
export function extractiveSummary(entries: readonly ContextEntry[], limit = 300): string {
  const parts: string[] = [];
  const tools = new Set<string>();
  for (const entry of entries) {
    const message = entry.message;
    if (message.role === 'assistant') {
      const sentence = firstSentence(message.content);
      if (sentence !== '') parts.push(sentence);
      for (const call of message.toolCalls ?? []) tools.add(call.name);
    } else if (message.role === 'tool') {
      const line = firstSentence(message.content.split('\n', 1)[0] ?? '');
      if (line !== '') parts.push(`${message.name}: ${line}`);
    }
  }
  const head = tools.size === 0 ? '' : `called ${[...tools].join(', ')}. `;
  let summary = head;
  for (const part of parts) {
    if (summary.length + part.length + 2 > limit) break;
    summary += `${part} `;
  }
  summary = summary.trim();
  return summary.length > limit ? `${summary.slice(0, limit - 1)}…` : summary || '(no text)';
}

function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/[.!?](\s|$)/);
  const sentence = end === -1 ? flat : flat.slice(0, end + 1);
  return sentence.length > 160 ? `${sentence.slice(0, 159)}…` : sentence;
}

/** The messages a page holds, from what pageOut stored with it. */
export function pageMessages(meta: Record<string, unknown>): Message[] {
  return Array.isArray(meta.messages) ? (meta.messages as Message[]) : [];
}

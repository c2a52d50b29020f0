/** The tools a kernel knows, by name. */
import { AosError } from '../errors.js';
import type { Tool } from './tool.js';

export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();

  constructor(tools: Tool[] = []) {
    for (const tool of tools) this.register(tool);
  }

  /** Adds a tool; a second tool with the same name is a conflict. */
  register(tool: Tool): void {
    if (this.tools.has(tool.name)) {
      throw new AosError('conflict', `a tool named "${tool.name}" is already registered`, {
        hint: 'give the tool another name',
      });
    }
    this.tools.set(tool.name, tool);
  }

  get(name: string): Tool | undefined {
    return this.tools.get(name);
  }

  names(): string[] {
    return [...this.tools.keys()].sort();
  }

  /** The named tools, in the order given ("*": every tool, by name); `invalid_input` names any unknown one. */
  select(names: readonly string[], where: string): Tool[] {
    if (names.includes('*')) return this.names().map((name) => this.tools.get(name)!);
    return names.map((name) => {
      const tool = this.tools.get(name);
      if (tool === undefined) {
        throw new AosError('invalid_input', `${where}: unknown tool "${name}"`, {
          hint: `known tools: ${this.names().join(', ')}`,
        });
      }
      return tool;
    });
  }
}

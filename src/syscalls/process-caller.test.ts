import { describe, expect, it } from 'vitest';
import { grants } from './capabilities.js';
import { type ChainLink, callerOfChain, capabilitiesOfTools } from './process-caller.js';

function link(pid: number, tools: string[], agents: string[], ppid: number | null = pid - 1): ChainLink {
  return { pid, ppid, owner: 'local', priority: 0, definition: { name: `a${pid}`, tools, agents } };
}

describe('process callers', () => {
  it('derives capabilities from the tools an agent lists, under new and earlier names', () => {
    expect(capabilitiesOfTools(['fs_cat', 'fs_read', 'mem_add', 'finish', 'wait'])).toEqual([
      'fs.read',
      'memory.write',
    ]);
    expect(capabilitiesOfTools(['spawn', 'send', 'recall'])).toEqual([
      'memory.read',
      'process.send',
      'process.spawn',
    ]);
    expect(capabilitiesOfTools(['*'])).toEqual(['*']);
  });

  it('gives a child at most its parent’s rights, along the whole chain', () => {
    const chain = [
      link(1, ['spawn', 'fs_cat', 'fs_write'], ['a2'], null),
      link(2, ['spawn', 'fs_cat', 'mem_add'], ['a3', 'other']),
      link(3, ['*'], ['*']),
    ];
    const child = callerOfChain(chain.slice(0, 2));
    expect(child.capabilities).toEqual(['fs.read', 'process.spawn']);
    expect(child.ownCapabilities).toEqual(['fs.read', 'memory.write', 'process.spawn']);
    expect(child.spawn).toEqual([]);
    const grandchild = callerOfChain(chain);
    expect(grandchild.capabilities).toEqual(['fs.read', 'process.spawn']);
    expect(grandchild.spawn).toEqual([]);
    expect(grandchild.namespaces).toEqual(['process:3', 'agent:a3', 'owner:local']);
    // Whatever a descendant lists, it holds nothing an ancestor lacks.
    for (const needed of ['fs.read', 'fs.write', 'memory.write', 'process.spawn', 'process.send'])
      if (grants(grandchild.capabilities, needed))
        expect(grants(['fs.read', 'process.spawn'], needed)).toBe(true);
  });

  it('lets a root process hold what its own definition grants', () => {
    const root = callerOfChain([link(5, ['send', 'fs_write'], ['helper'], null)]);
    expect(root).toMatchObject({
      kind: 'process',
      pid: 5,
      ppid: null,
      capabilities: ['fs.write', 'process.send'],
      spawn: ['helper'],
    });
  });
});

import { describe, expect, it } from 'vitest';
import { authorize, grants, intersect } from './capabilities.js';
import type { ProcessCaller } from './syscall.js';
import { syscalls } from './table.js';

function processCaller(rights: Partial<ProcessCaller>): ProcessCaller {
  return {
    kind: 'process',
    pid: 7,
    owner: 'local',
    priority: 0,
    capabilities: [],
    ownCapabilities: [],
    spawn: [],
    namespaces: ['process:7', 'agent:a', 'owner:local'],
    ppid: 3,
    ...rights,
  };
}

describe('capabilities', () => {
  it('grants exact names, prefixes ending in .* and *', () => {
    expect(grants(['fs.read'], 'fs.read')).toBe(true);
    expect(grants(['fs.*'], 'fs.write')).toBe(true);
    expect(grants(['*'], 'process.spawn')).toBe(true);
    expect(grants(['fs.read'], 'fs.write')).toBe(false);
    expect(grants(['fs.*'], 'fsx.read')).toBe(false);
  });

  it('narrows a child to what its parent holds', () => {
    expect(intersect(['fs.read', 'fs.write', 'memory.read'], ['fs.*'])).toEqual(['fs.read', 'fs.write']);
    expect(intersect(['*'], ['fs.read', 'process.spawn'])).toEqual(['fs.read', 'process.spawn']);
    expect(intersect(['fs.*'], ['fs.read'])).toEqual(['fs.read']);
    expect(intersect(['memory.write'], ['fs.read'])).toEqual([]);
    // Whatever the two sets, the child's set grants nothing the parent's does not.
    const child = intersect(['*', 'fs.*'], ['fs.read', 'memory.*']);
    for (const needed of ['fs.read', 'fs.write', 'memory.write', 'process.spawn'])
      if (grants(child, needed)) expect(grants(['fs.read', 'memory.*'], needed)).toBe(true);
  });

  it('names the rule that denies a call', () => {
    const write = syscalls['fs write'];
    const input = { ns: 'process:7', path: '/a', content: 'x', encoding: 'utf8' };
    expect(authorize(processCaller({ capabilities: ['fs.read'] }), write, input)?.details?.rule).toBe(
      'capability:fs.write',
    );
    const inherited = authorize(processCaller({ ownCapabilities: ['fs.write'] }), write, input);
    expect(inherited?.code).toBe('forbidden');
    expect(inherited?.details?.rule).toBe('inherited:fs.write');
    const elsewhere = { ...input, ns: 'agent:other' };
    expect(authorize(processCaller({ capabilities: ['fs.write'] }), write, elsewhere)?.details?.rule).toBe(
      'namespace:agent:other',
    );
    expect(authorize(processCaller({ capabilities: ['fs.write'] }), write, input)).toBeUndefined();
    const spawn = syscalls.spawn;
    expect(
      authorize(processCaller({ capabilities: ['process.spawn'], spawn: ['helper'] }), spawn, {
        agent: 'other',
      })?.details?.rule,
    ).toBe('spawn:other');
    expect(authorize({ kind: 'user', capabilities: ['*'] }, write, elsewhere)).toBeUndefined();
  });
});

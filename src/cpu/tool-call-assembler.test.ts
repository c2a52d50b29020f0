import { describe, expect, it } from 'vitest';
import { ToolCallAssembler } from './tool-call-assembler.js';

describe('tool-call deltas', () => {
  it('joins split and interleaved deltas by index', () => {
    const calls = new ToolCallAssembler();
    calls.add({ index: 0, id: 'a', function: { name: 'todo', arguments: '' } });
    calls.add({ index: 1, id: 'b', function: { name: 'remember', arguments: '{"f":' } });
    calls.add({ index: 0, function: { arguments: '{"i":1}' } });
    calls.add({ index: 1, function: { arguments: '2}' } });
    expect(calls.calls()).toEqual([
      { id: 'a', name: 'todo', arguments: '{"i":1}' },
      { id: 'b', name: 'remember', arguments: '{"f":2}' },
    ]);
  });

  it('keys calls by id when there is no index, and keeps whole calls apart without either', () => {
    const byId = new ToolCallAssembler();
    byId.add({ id: 'a', function: { name: 'todo', arguments: '{}' } });
    byId.add({ id: 'b', function: { name: 'remember', arguments: '{}' } });
    expect(byId.calls().map((call) => call.name)).toEqual(['todo', 'remember']);
    const bare = new ToolCallAssembler();
    bare.add({ function: { name: 'todo', arguments: '{"i":' } });
    bare.add({ function: { arguments: '1}' } });
    bare.add({ function: { name: 'remember', arguments: '{}' } });
    expect(bare.calls()).toEqual([
      { id: '', name: 'todo', arguments: '{"i":1}' },
      { id: '', name: 'remember', arguments: '{}' },
    ]);
  });
});

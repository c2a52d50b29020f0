import { describe, expect, it } from 'vitest';
import { httpRouteOf, toolNameOf } from './faces.js';
import type { Syscall } from './syscall.js';
import { syscalls } from './table.js';

const all = Object.values(syscalls) as Syscall[];

describe('faces', () => {
  it('names every face by one rule from the syscall’s name', () => {
    expect(toolNameOf('fs cat')).toBe('fs_cat');
    expect(toolNameOf('spawn')).toBe('spawn');
    expect(httpRouteOf(syscalls['fs cat'])).toEqual({ method: 'GET', path: '/v1/fs/cat' });
    expect(httpRouteOf(syscalls.kill)).toEqual({ method: 'POST', path: '/v1/kill' });
    const routes = all.map((syscall) => `${httpRouteOf(syscall).method} ${httpRouteOf(syscall).path}`);
    expect(new Set(routes).size).toBe(all.length);
  });

  it('gives each tool, and each earlier name, to one syscall only, with fields of its input', () => {
    const names = all.flatMap((syscall) =>
      syscall.tool === undefined ? [] : [toolNameOf(syscall.name), ...(syscall.tool.aliases ?? [])],
    );
    expect(new Set(names).size).toBe(names.length);
    for (const syscall of all) {
      if (syscall.tool === undefined) continue;
      const shape = Object.keys((syscall.input as unknown as { shape: object }).shape);
      for (const field of syscall.tool.fields)
        expect([syscall.name, shape]).toEqual([syscall.name, expect.arrayContaining([field])]);
      for (const field of Object.values(syscall.tool.renamed ?? {}))
        expect(syscall.tool.fields).toContain(field);
    }
  });

  it('declares a CLI face or a SQL function only where the names fit', () => {
    for (const syscall of all) {
      const shape = Object.keys((syscall.input as unknown as { shape: object }).shape);
      for (const field of syscall.cli?.positional ?? []) expect(shape).toContain(field);
      if (syscall.sql !== undefined) expect(syscall.sql).toMatch(/^aos\.[a-z_]+$/);
    }
  });
});

/** Where the embedded database lives: an empty AOS_HOME (as test harnesses set it) counts as unset, never the working directory. */
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { embeddedHome } from './open-database.js';

describe('embeddedHome', () => {
  const saved = process.env.AOS_HOME;
  afterEach(() => {
    if (saved === undefined) delete process.env.AOS_HOME;
    else process.env.AOS_HOME = saved;
  });

  it('is --home, else AOS_HOME, else ./.aos; an empty value is unset', () => {
    process.env.AOS_HOME = '';
    expect(embeddedHome()).toBe(join(process.cwd(), '.aos'));
    expect(embeddedHome('')).toBe(join(process.cwd(), '.aos'));
    process.env.AOS_HOME = '/tmp/aos-home-test';
    expect(embeddedHome()).toBe('/tmp/aos-home-test');
    expect(embeddedHome('elsewhere')).toBe(resolve('elsewhere'));
  });
});

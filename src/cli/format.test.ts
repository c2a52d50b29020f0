import { describe, expect, it } from 'vitest';
import { printable } from './format.js';

describe('printable', () => {
  it('escapes C0 and C1 controls, DEL, \\r and bidi controls; keeps tab, newline and other text', () => {
    expect(printable('a\rb')).toBe('a\\rb');
    expect(printable('\u001b[2Kx\u0007')).toBe('\\x1b[2Kx\\x07');
    expect(printable('\u0085\u009b\u007f')).toBe('\\x85\\x9b\\x7f');
    expect(printable('\u202egnp.exe\u2066\u200f\u2028')).toBe('\\u{202e}gnp.exe\\u{2066}\\u{200f}\\u{2028}');
    expect(printable('tab\tnew\nline, café, 日本')).toBe('tab\tnew\nline, café, 日本');
  });
});

import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact-secrets.js';

describe('redactSecrets', () => {
  it('removes userinfo and secret-looking query parameters from every URL in a text', () => {
    expect(redactSecrets('openai at http://user:secret@host:8080/v1 is unreachable: fetch failed')).toBe(
      'openai at http://user:***@host:8080/v1 is unreachable: fetch failed',
    );
    expect(redactSecrets('https://sk-abc@api.example.com/v1')).toBe('https://***@api.example.com/v1');
    expect(redactSecrets('postgres://aos@db/x?sslmode=require&password=hunter2')).toBe(
      'postgres://***@db/x?sslmode=require&password=***',
    );
    expect(redactSecrets('see http://h/p?api_key=k1&q=1&token=t2#frag and http://h2/?Secret=s')).toBe(
      'see http://h/p?api_key=***&q=1&token=***#frag and http://h2/?Secret=***',
    );
    expect(redactSecrets('no url here, key=value')).toBe('no url here, key=value');
    expect(redactSecrets('http://example.com/a?b=c')).toBe('http://example.com/a?b=c');
  });
});

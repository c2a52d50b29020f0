/**
 * Removes credentials from text that becomes a message (errors, `aos ps`, traces, the
 * audit log): the userinfo of every URL in it, and query parameters whose names look
 * secret (password, token, key, secret, api_key, ...).
 */

const urlPattern = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>`]+/gi;
const secretParameter =
  /^(?:password|passwd|pwd|pass|token|access_token|refresh_token|id_token|auth|authorization|key|api_key|apikey|api-key|secret|client_secret|signature|sig|credential|credentials|sslpassword)$/i;

/** `text` with the userinfo of each URL in it and its secret-looking query parameters replaced by `***`. */
export function redactSecrets(text: string): string {
  return text.replace(urlPattern, redactUrl);
}

function redactUrl(url: string): string {
  const scheme = url.indexOf('://') + 3;
  const authorityEnd = firstOf(url, ['/', '?', '#'], scheme);
  const authority = url.slice(scheme, authorityEnd);
  const at = authority.lastIndexOf('@');
  let redacted = url.slice(0, scheme);
  if (at === -1) {
    redacted += authority;
  } else {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    redacted += `${colon === -1 ? '***' : `${userinfo.slice(0, colon)}:***`}${authority.slice(at)}`;
  }
  const rest = url.slice(authorityEnd);
  const query = rest.indexOf('?');
  if (query === -1) return redacted + rest;
  const hash = rest.indexOf('#', query);
  const end = hash === -1 ? rest.length : hash;
  const parameters = rest
    .slice(query + 1, end)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals === -1 ? pair : pair.slice(0, equals);
      return equals !== -1 && secretParameter.test(decodeSafely(name)) ? `${name}=***` : pair;
    });
  return `${redacted}${rest.slice(0, query + 1)}${parameters.join('&')}${rest.slice(end)}`;
}

function firstOf(text: string, characters: string[], from: number): number {
  const found = characters.map((character) => text.indexOf(character, from)).filter((index) => index !== -1);
  return found.length === 0 ? text.length : Math.min(...found);
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// Web origins (scheme, host, port) in one canonical spelling, so that the configuration's
// CHARIOT_ALLOWED_ORIGINS, a request's Origin header and the server's own origin compare equal
// exactly when a browser would call them the same origin.

/**
 * `text` as the URL standard serialises an origin (lower-case host, no default port), or
 * undefined when it is not an http(s) origin: anything with user info, a path other than `/`,
 * a query or a fragment is not one, nor is the opaque origin `null`.
 */
export function canonicalOrigin(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') return undefined;
  // new URL() accepts "http://a.example/" and "http://a.example?" alike; only the first is an origin.
  if (/[?#]/.test(text)) return undefined;
  return url.origin;
}

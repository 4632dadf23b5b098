// GET / and the UI's files: served without a session, with their headers; any other path,
// however it is spelled, is the usual 404 JSON and never reaches outside dist/public.
import { expect } from 'chai';
import { expectError } from './helpers/expectations.js';
import { useServer } from './helpers/server.js';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
  + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

describe('GET / and the web UI files', () => {
  const server = useServer();

  for (const [path, type] of [['/', 'text/html; charset=utf-8'], ['/index.html', 'text/html; charset=utf-8'],
    ['/app.js', 'text/javascript; charset=utf-8'], ['/app.css', 'text/css; charset=utf-8']] as const) {
    it(`serves ${path} without a session, as ${type}, revalidated, under a content security policy`, async () => {
      const res = await server.anonymous().json('GET', path);
      expect(res.status, res.text.slice(0, 200)).to.equal(200);
      expect(res.headers.get('content-type')).to.equal(type);
      expect(res.headers.get('cache-control')).to.equal('no-cache');
      expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(res.headers.get('content-security-policy')).to.equal(CSP);
      expect(res.headers.get('last-modified')).to.be.a('string');
      if (path === '/' || path === '/index.html') expect(res.text).to.match(/^<!doctype html>\n<html lang="en">/);
      else expect(res.text.length).to.be.above(1000);
    });
  }

  for (const path of ['/..%2F..%2Fpackage.json', '/%2e%2e%2f%2e%2e%2fpackage.json', '/%00', '/%E0%A4%A', '/.gitignore', '/app.js/x', '/nothing-here']) {
    it(`answers 404 JSON for ${path}, as for any unknown path`, async () => {
      const res = await server.anonymous().json('GET', path);
      expectError(res, 404, `No such endpoint: GET ${path}`, 'NOT_FOUND');
    });
  }

  it('keeps /api/ paths away from the files: 401 without a session, even for a name the UI has', async () => {
    expectError(await server.anonymous().json('GET', '/api/index.html'), 401, 'Unauthorized', 'UNAUTHORIZED');
  });
});

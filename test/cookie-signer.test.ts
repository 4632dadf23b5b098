// The session cookie's signer (src/http/cookie-signer.ts): keygrip's signatures, every key
// tried in order, a signature of any other length or key refused.
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { CookieSigner } from '../src/http/cookie-signer.js';

/** A signature as keygrip makes it: HMAC-SHA1 in base64, made URL-safe, without padding. */
function keygripSignature(key: string, data: string): string {
  return createHmac('sha1', key).update(data).digest('base64').replace(/\//g, '_').replace(/\+/g, '-').replace(/=/g, '');
}

describe('CookieSigner', () => {
  const keys = ['the-current-key-of-32-characters', 'an-older-key-still-accepted-here'];
  const signer = new CookieSigner(keys);
  const data = 'chariot.sid=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';

  it('signs with the first key, as keygrip does', () => {
    expect(signer.sign(data)).to.equal(keygripSignature(keys[0]!, data));
    expect(signer.sign('')).to.equal(keygripSignature(keys[0]!, ''));
  });

  it('answers the index of the key that made a signature, -1 for any other, and verifies alike', () => {
    expect(signer.index(data, keygripSignature(keys[0]!, data))).to.equal(0);
    expect(signer.index(data, keygripSignature(keys[1]!, data))).to.equal(1);
    expect(signer.index(data, keygripSignature('a-key-nobody-configured-at-all!', data))).to.equal(-1);
    expect(signer.index(`${data}x`, keygripSignature(keys[0]!, data)), 'the data changed').to.equal(-1);
    const good = signer.sign(data);
    expect(signer.index(data, good.slice(0, -1)), 'one character short').to.equal(-1);
    expect(signer.index(data, `${good}A`), 'one character more').to.equal(-1);
    expect(signer.index(data, `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`), 'one character changed').to.equal(-1);
    expect(signer.index(data, ''), 'empty').to.equal(-1);
    expect([signer.verify(data, good), signer.verify(data, 'forged')]).to.eql([true, false]);
  });

  it('refuses to be made without a key', () => {
    expect(() => new CookieSigner([])).to.throw('A cookie signer needs at least one key');
  });
});

// Checks a WACZ signature the way ReplayWeb.page's wabac.js does
// (src/wacz/certutils.ts, verifyWACZSignature): the public key imported as
// SPKI for ECDSA P-384, the signature (raw r||s, base64) verified with
// SHA-256 over the UTF-8 bytes of the hash string. Prints {"valid": bool}.
//   node wacz_signature.mjs <hash> <signature base64> <publicKey base64>
const [hash, signature, publicKey] = process.argv.slice(2);
const bytes = (b64) => Uint8Array.from(Buffer.from(b64, 'base64'));
const key = await crypto.subtle.importKey(
  'spki', bytes(publicKey), { name: 'ECDSA', namedCurve: 'P-384' }, true, ['verify']);
const valid = await crypto.subtle.verify(
  { name: 'ECDSA', hash: 'SHA-256' }, key, bytes(signature), new TextEncoder().encode(hash));
console.log(JSON.stringify({ valid }));

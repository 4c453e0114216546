// Runs the browser verifier (src/web/verify.js) under Node's WebCrypto on a
// saved source list: node verify_check.mjs LIST.json VKEY. Prints its verdict.
import { readFileSync } from 'node:fs';
import { runInThisContext } from 'node:vm';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
runInThisContext(readFileSync(`${here}/../../src/web/verify.js`, 'utf8'));
const [listPath, vkey] = process.argv.slice(2);
const list = JSON.parse(readFileSync(listPath, 'utf8'));
const verdict = await globalThis.SourceLedgerVerify.verifyList(list, vkey);
console.log(JSON.stringify(verdict));

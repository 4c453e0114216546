// Runs the browser verifier (src/web/verify.js) under Node's WebCrypto on a
// saved source list: node verify_check.mjs LIST.json VKEY. Prints its verdict.
// With LEDGER_URL QUORUM WITNESS_VKEY... after them, also checks the list's
// checkpoint against the witnesses (fetching from the ledger, as the panel
// does) and prints that verdict as "witnessed".
import { readFileSync } from 'node:fs';
import { runInThisContext } from 'node:vm';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
runInThisContext(readFileSync(`${here}/../../src/web/verify.js`, 'utf8'));
const [listPath, vkey, ledger, quorum, ...witnesses] = process.argv.slice(2);
const list = JSON.parse(readFileSync(listPath, 'utf8'));
const verdict = await globalThis.SourceLedgerVerify.verifyList(list, vkey);
if (ledger) {
  const get = async (path) => {
    const response = await fetch(ledger + path);
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  };
  verdict.witnessed = await globalThis.SourceLedgerVerify.verifyWitnessed(
    list, vkey, witnesses, Number(quorum), get);
}
console.log(JSON.stringify(verdict));

// Reads a CSL-JSON, BibTeX or RIS file with citation-js and prints the
// CSL-JSON it understood, then an APA bibliography made from it, for
// tests/api/citation_formats.rs. usage: node check.mjs csl-json|bibtex|ris FILE,
// with the packages in $SOURCELEDGER_TEST_FORMAT_TOOLS/node_modules.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.env.SOURCELEDGER_TEST_FORMAT_TOOLS + '/');
const { Cite } = require('@citation-js/core');
require('@citation-js/plugin-bibtex');
require('@citation-js/plugin-ris');
require('@citation-js/plugin-csl');

const [kind, path] = process.argv.slice(2);
const text = readFileSync(path, 'utf8');
const input = kind === 'csl-json' ? JSON.parse(text) : text;
const forceType = { 'csl-json': '@csl/list+object', bibtex: '@bibtex/text', ris: '@ris/file' }[kind];
const cite = await Cite.async(input, { forceType });
const bibliography = cite.format('bibliography', { format: 'text', template: 'apa', lang: 'en-US' });
console.log(JSON.stringify({ items: cite.data, bibliography }));

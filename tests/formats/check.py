"""Reads a BibTeX or RIS file with independent parsers (bibtexparser, rispy) and
prints what they found as JSON, for tests/api/citation_formats.rs.

usage: check.py bibtex|ris FILE
"""
import json
import sys

kind, path = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8") as f:
    text = f.read()

if kind == "bibtex":
    import bibtexparser
    from bibtexparser.bparser import BibTexParser
    # Fields as written (LaTeX escapes kept): bibtexparser's own LaTeX decoding
    # is lossy; citation-js (check.mjs) checks the decoded text.
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    database = bibtexparser.loads(text, parser=parser)
    print(json.dumps(database.entries))
elif kind == "ris":
    import rispy

    print(json.dumps(rispy.loads(text), default=str))
else:
    sys.exit(f"unknown kind {kind}")

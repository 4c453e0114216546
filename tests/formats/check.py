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

    # bibtexparser 2: fields as written (LaTeX escapes kept, enclosing braces
    # removed by its default stack): its LaTeX decoding is lossy; citation-js
    # (check.mjs) checks the decoded text. A block it could not take (a
    # duplicate key, a syntax error) is a failed block.
    library = bibtexparser.parse_string(text)
    entries = [
        {"ENTRYTYPE": e.entry_type, "ID": e.key, **{f.key: f.value for f in e.fields}}
        for e in library.entries
    ]
    failed = [type(b).__name__ for b in library.failed_blocks]
    print(json.dumps({"entries": entries, "failed_blocks": failed}))
elif kind == "ris":
    import rispy

    print(json.dumps(rispy.loads(text), default=str))
else:
    sys.exit(f"unknown kind {kind}")

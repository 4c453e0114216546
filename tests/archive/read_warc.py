"""Reads a WARC file with warcio, checking every record's block and payload
digests (a mismatch is an error), and prints each record as JSON for
tests/api/snapshots.rs: type, target URI, HTTP status, the payload's SHA-256
recomputed here, and the WARC-Payload-Digest the file states.
usage: python read_warc.py FILE"""
import hashlib
import json
import sys

from warcio.archiveiterator import ArchiveIterator

records = []
with open(sys.argv[1], "rb") as stream:
    for record in ArchiveIterator(stream, check_digests="raise"):
        payload = record.content_stream().read()
        records.append({
            "type": record.rec_type,
            "uri": record.rec_headers.get_header("WARC-Target-URI"),
            "status": record.http_headers.get_statuscode() if record.http_headers else None,
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
            "payload_digest": record.rec_headers.get_header("WARC-Payload-Digest"),
        })
print(json.dumps(records))

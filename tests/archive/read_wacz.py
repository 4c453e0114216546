"""Reads a WACZ package with tools other than ours, for
tests/api/wacz_packages.rs: Python's zipfile (every member read, its CRC-32
checked), warcio over every WARC inside (block and payload digests checked)
and over the record each index line points at (it must be the response of
that URL, exactly `length` bytes long). Prints what it found as JSON; any
mismatch is an error (exit 1).
usage: python read_wacz.py FILE"""
import io
import json
import sys
import zipfile

from warcio.archiveiterator import ArchiveIterator

found = {"members": [], "warcs": {}, "index_lines": 0, "pages": []}
with zipfile.ZipFile(sys.argv[1]) as package:
    if package.testzip() is not None:
        sys.exit("a member's CRC-32 is wrong")
    for info in package.infolist():
        if info.compress_type != zipfile.ZIP_STORED:
            sys.exit(f"{info.filename} is not STORED")
        found["members"].append(info.filename)
    warcs = {}
    for name in found["members"]:
        if name.startswith("archive/"):
            data = package.read(name)
            warcs[name[len("archive/"):]] = data
            kinds = []
            for record in ArchiveIterator(io.BytesIO(data), check_digests="raise"):
                record.content_stream().read()
                kinds.append(record.rec_type)
            found["warcs"][name] = kinds
    for line in package.read("indexes/index.cdxj").decode().splitlines():
        key, ts, rest = line.split(" ", 2)
        fields = json.loads(rest)
        data = warcs[fields["filename"]]
        start, length = fields["offset"], fields["length"]
        one = io.BytesIO(data[start:start + length])
        records = list(ArchiveIterator(one, check_digests="raise"))
        if len(records) != 1:
            sys.exit(f"{line}: not one record at the offset")
        record = records[0]
        if record.rec_type != "response":
            sys.exit(f"{line}: a {record.rec_type} record")
        if record.rec_headers.get_header("WARC-Target-URI") != fields["url"]:
            sys.exit(f"{line}: the record is of another URL")
        if record.http_headers.get_statuscode() != fields["status"]:
            sys.exit(f"{line}: another status")
        if ts != record.rec_headers.get_header("WARC-Date").replace("-", "").replace(":", "").replace("T", "")[:14]:
            sys.exit(f"{line}: another date")
        found["index_lines"] += 1
    for line in package.read("pages/pages.jsonl").decode().splitlines()[1:]:
        found["pages"].append(json.loads(line))
print(json.dumps(found))

"""Embeds a reader's page as an oEmbed consumer nobody here wrote would:
oembedpy (PyPI), with no provider registry at all, so it must find the
endpoint by discovery, from the page's <link rel="alternate"
type="application/json+oembed">. Prints, for each size asked, the endpoint
oembedpy discovered and the response it read, as JSON for
tests/api/oembed.rs.
usage: python consume.py PAGE_URL [MAXWIDTHxMAXHEIGHT ...]"""
import json
import sys
from dataclasses import asdict

from oembedpy import discovery
from oembedpy.application import Oembed
from oembedpy.provider import ProviderRegistry

page = sys.argv[1]
consumer = Oembed()
# What Oembed.init() does, less its download of oembed.com's provider list:
# no provider is known, so only discovery can find ours.
consumer._registry = ProviderRegistry(providers=[])
consumer._cache = {}
endpoint, _ = discovery.find_from_content(page)
seen = []
for size in sys.argv[2:]:
    width, height = (int(n) for n in size.split("x"))
    content = consumer.fetch(page, max_width=width, max_height=height)
    fields = {k: v for k, v in asdict(content).items() if not k.startswith("_")}
    seen.append({"maxwidth": width, "maxheight": height, "kind": type(content).__name__,
                 "endpoint": endpoint, "response": fields})
print(json.dumps(seen))

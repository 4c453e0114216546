#!/usr/bin/env python3
"""Check the internal links of the built book and of the README.

    python3 .ci/book-links.py BOOK_DIR [MARKDOWN_FILE ...]

In BOOK_DIR (what `mdbook build` wrote), every relative `href` or `src` in
every HTML page must name a file that exists, and every `#fragment` (on the
same page or another) must be the `id` of an element in its target page.
In each MARKDOWN_FILE (the README), every relative link must name a file or
folder that exists, and a `#fragment` must be a heading's anchor as GitHub
makes it, in that file or in the Markdown file it points to.

Links with a scheme (`https:`, `mailto:`, ...) are not followed. Exits 1 with
the list of broken links, 0 when there are none.
"""

import html.parser
import os
import re
import sys
import urllib.parse

LINK_ATTRS = {"href", "src"}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []  # (line, attribute, value)
        self.base = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            if tag == "base" and name == "href":
                self.base = value
            elif name in LINK_ATTRS:
                self.links.append((self.getpos()[0], name, value))

    handle_startendtag = handle_starttag


def has_scheme(url):
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url)) or url.startswith("//")


def parse_page(path, cache={}):
    if path not in cache:
        page = Page()
        with open(path, encoding="utf-8") as f:
            page.feed(f.read())
        page.close()
        cache[path] = page
    return cache[path]


def check_book(book):
    broken = []
    book = os.path.abspath(book)
    pages = []
    for folder, _, files in os.walk(book):
        pages += [os.path.join(folder, f) for f in files if f.endswith(".html")]
    if not pages:
        return [f"{book}: no HTML pages (was the book built?)"], 0
    checked = 0
    for path in sorted(pages):
        page = parse_page(path)
        rel = os.path.relpath(path, book)
        for line, attr, value in page.links:
            url = value.strip()
            if not url or has_scheme(url):
                continue
            checked += 1
            target, _, fragment = url.partition("#")
            target = urllib.parse.unquote(target.partition("?")[0])
            if target == "":
                target_path = path
            else:
                if target.startswith("/"):
                    start = book
                    target = target.lstrip("/")
                elif page.base is not None and not has_scheme(page.base):
                    start = os.path.join(book, page.base.lstrip("/"))
                else:
                    start = os.path.dirname(path)
                target_path = os.path.normpath(os.path.join(start, target))
                if os.path.isdir(target_path):
                    target_path = os.path.join(target_path, "index.html")
                if not target_path.startswith(book + os.sep):
                    broken.append(f"{rel}:{line}: {attr}=\"{value}\": outside the book")
                    continue
                if not os.path.isfile(target_path):
                    broken.append(
                        f"{rel}:{line}: {attr}=\"{value}\": no file {os.path.relpath(target_path, book)}"
                    )
                    continue
            fragment = urllib.parse.unquote(fragment)
            if fragment and target_path.endswith(".html"):
                if fragment not in parse_page(target_path).ids:
                    broken.append(
                        f"{rel}:{line}: {attr}=\"{value}\": no id \"{fragment}\" in "
                        f"{os.path.relpath(target_path, book)}"
                    )
    return broken, checked


# --- Markdown (the README): GitHub's heading anchors

FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_lines(path):
    """The file's lines outside fenced code blocks, with their numbers."""
    inside = None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fence = FENCE.match(line)
            if fence:
                if inside is None:
                    inside = fence.group(1)
                elif fence.group(1) == inside:
                    inside = None
                continue
            if inside is None:
                yield number, line.rstrip("\n")


def github_anchors(path):
    anchors = set()
    seen = {}
    for _, line in markdown_lines(path):
        m = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        text = m.group(1)
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
        text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        if slug in seen:
            seen[slug] += 1
            anchors.add(f"{slug}-{seen[slug]}")
        else:
            seen[slug] = 0
            anchors.add(slug)
    return anchors


INLINE_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")


def check_markdown(path):
    broken = []
    checked = 0
    folder = os.path.dirname(os.path.abspath(path))
    for number, line in markdown_lines(path):
        code_free = re.sub(r"`[^`]*`", "", line)  # no links inside code spans
        urls = INLINE_LINK.findall(code_free) + HTML_LINK.findall(code_free)
        ref = REFERENCE.match(code_free)
        if ref:
            urls.append(ref.group(1))
        for url in urls:
            if has_scheme(url):
                continue
            checked += 1
            target, _, fragment = url.partition("#")
            target = urllib.parse.unquote(target.partition("?")[0])
            target_path = os.path.normpath(os.path.join(folder, target)) if target else os.path.abspath(path)
            if not os.path.exists(target_path):
                broken.append(f"{path}:{number}: ({url}): no file {os.path.relpath(target_path)}")
                continue
            if fragment and target_path.endswith(".md"):
                if urllib.parse.unquote(fragment) not in github_anchors(target_path):
                    broken.append(
                        f"{path}:{number}: ({url}): no heading with anchor \"{fragment}\" in "
                        f"{os.path.relpath(target_path)}"
                    )
    return broken, checked


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    broken, checked = check_book(argv[1])
    print(f"{argv[1]}: {checked} internal links checked")
    for markdown in argv[2:]:
        more, count = check_markdown(markdown)
        print(f"{markdown}: {count} relative links checked")
        broken += more
    if broken:
        print(f"\n{len(broken)} broken link(s):", file=sys.stderr)
        for b in broken:
            print(f"  {b}", file=sys.stderr)
        return 1
    print("no broken links")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Localisation crawl: every page each role can reach shows no untranslated UI text."""
import json
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

ROLES = ["school_admin", "college_admin", "lab_admin", "service_user", None]
SKIP = re.compile(r"^/(logout|lang|static|appbuilder|api|swagger)|/delete/|/action|/download/|/muldelete")
# data, not UI: e-mail addresses, user names, asset numbers and model codes of the test university
DATA = re.compile(r"[\w.+-]+@[\w.-]+|\b[a-z0-9]+_(admin|user)\b|\bZC-[\w-]+|\bU\d{4}\b|\bC\d(-L\d)?\b")
# every word must come from translations/zh, except proper names of products and formats, which
# Chinese text writes in Latin script too (智能插座 brands, the JSON format)
ALLOWED_WORDS = {"Tasmota", "Shelly", "JSON", "PCR", "Outlook", "PDF", "MB"}  # names and reference data (a class is "PCR仪")
VISIBLE_ATTRS = {"placeholder", "title", "alt", "data-placeholder", "aria-label"}


JSON_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
JSON_ARRAY = re.compile(r'\[("(?:[^"\\]|\\.)*"(?:,\s*"(?:[^"\\]|\\.)*")*)\]')


def script_visible_text(script):
    """What a script will put on screen: FAB ships the search form's widgets and filter names
    as JSON inside a <script> (HTML fragments and arrays of labels)."""
    chunks = []
    for literal in JSON_STRING.findall(script):
        text = json.loads(f'"{literal}"')
        if "<" in text:
            inner = TextCollector()
            inner.feed(text)
            chunks.extend(inner.chunks)
    for array in JSON_ARRAY.findall(script):
        chunks.extend(json.loads(f"[{array}]"))
    return chunks


class TextCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.chunks, self.links, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "noscript"):
            self._skip += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in VISIBLE_ATTRS:
            if attrs.get(name):
                self.chunks.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.chunks.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if self._skip:
            self.chunks.extend(script_visible_text(data))
        elif data.strip():
            self.chunks.append(data)


def english_words(html):
    parser = TextCollector()
    parser.feed(html)
    words = set()
    for chunk in parser.chunks:
        chunk = DATA.sub(" ", chunk)
        words.update(w for w in re.findall(r"[A-Za-z]{2,}", chunk) if w not in ALLOWED_WORDS)
    return words, parser.links


def crawl(client, start="/", limit=300):
    seen_paths, queue, pages = set(), [start], {}
    while queue and len(pages) < limit:
        url = queue.pop(0)
        path = urlsplit(url).path
        if path in seen_paths or SKIP.search(path):
            continue
        seen_paths.add(path)
        resp = client.get(url)
        if resp.status_code in (301, 302):
            queue.append(resp.headers["Location"])
            continue
        if resp.status_code != 200 or "text/html" not in resp.content_type:
            continue
        html = resp.get_data(as_text=True)
        words, links = english_words(html)
        pages[url] = words
        for link in links:
            target = urljoin(url, link)
            parts = urlsplit(target)
            if parts.netloc in ("", "localhost") and parts.path.startswith("/"):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return pages


@pytest.mark.parametrize("who", ROLES, ids=[r or "anonymous" for r in ROLES])
def test_every_reachable_page_is_chinese(uni, login_as, who):
    client = login_as(who)
    pages = crawl(client)
    assert len(pages) >= (2 if who in (None, "service_user") else 10), sorted(pages)
    # forms are pages too: every add form the role's menu leads to
    untranslated = {url: sorted(words) for url, words in pages.items() if words}
    assert not untranslated, untranslated


def test_form_errors_and_flashes_are_chinese(uni, login_as):
    from .conftest import csrf_token

    client = login_as("lab_admin")
    token = csrf_token(client, "/personview/add")
    resp = client.post("/personview/add", data={"csrf_token": token, "name": "", "unit": uni.l11, "duty": "technician",
                                                "mobile": "12345", "email": "not-an-email"}, follow_redirects=True)
    words, _ = english_words(resp.get_data(as_text=True))
    assert not words, words
    assert "请输入11位大陆手机号码" in resp.get_data(as_text=True)


@pytest.mark.parametrize("who,method,url,status", [
    ("lab_admin", "get", "/instrumentview/show/999999", 404),
    ("lab_admin", "get", "/no/such/page", 404),
    ("service_user", "get", "/instrumentview/list/", 403),
    ("lab_admin", "get", "/instrumentview/delete/1", 405),
    ("lab_admin", "post", "/personview/add", 400),
])
def test_error_pages_are_chinese(uni, login_as, who, method, url, status):
    resp = getattr(login_as(who), method)(url)
    assert resp.status_code == status
    words, _ = english_words(resp.get_data(as_text=True))
    assert not words, words
    assert "返回首页" in resp.get_data(as_text=True)

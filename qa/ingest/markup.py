"""Messages exported as HTML fragments (智齿, 七鱼 and CRM APIs: ``<p>亲，…<br/>…</p>``,
``<img alt="[呲牙]">``): read as the text a reader of the chat saw."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa.ingest.table import rows_holding

# A tag of the markup chat exports use; a customer's "<3" or "a<b" is no tag. Looked for (in RE2)
# only in the texts holding a "<".
_TAG_RE2 = r"(?i)</?(?:p|br|img|span|a|div|font|b|i|u|strong|em|ul|ol|li|h[1-6])(?:\s[^<>]*)?/?>"
# what an element that shows no text stands for
_PICTURE = "[图片]"
_LINK = "[链接]"
_BLOCKS = frozenset({"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"})


class _Text(HTMLParser):
    """The text of one fragment: line breaks for <br> and between blocks, an image's alt text
    (an emoticon: [呲牙]) or [图片], a link's words or [链接]."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._link_start: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            self.parts.append(alt or _PICTURE)
        elif tag == "a":
            self._link_start = len(self.parts)
        elif tag in _BLOCKS:
            self._break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link_start is not None:
            if not "".join(self.parts[self._link_start:]).strip():
                self.parts.append(_LINK)
            self._link_start = None
        elif tag in _BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def _break(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def text(self) -> str:
        lines = "".join(self.parts).replace("\xa0", " ").split("\n")
        return "\n".join(line.strip() for line in lines if line.strip())


def fragment_text(fragment: str) -> str:
    """The text an HTML fragment shows (entities decoded, tags gone)."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return parser.text() or html.unescape(re.sub(r"<[^<>]*>", "", fragment)).strip()


def html_rows(text: pd.Series) -> np.ndarray:
    """Which texts hold chat-export markup (a <p>, <br>, <img>, <span>… tag)."""
    found = np.zeros(len(text), dtype=bool)
    maybe = rows_holding(text, "<")
    if len(maybe):
        tagged = pc.match_substring_regex(pa.array(text.iloc[maybe]), _TAG_RE2)
        found[maybe] = np.asarray(pc.fill_null(tagged, False), dtype=bool)
    return found


# an HTML character reference (&lt; &amp; &nbsp; &#12304; &#x3010;): a web console's text written escaped
_ENTITY = re.compile(r"&(?:#\d{2,7}|#[xX][0-9a-fA-F]{2,6}|lt|gt|amp|quot|apos|nbsp);")


def _unescaped(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``text`` with the texts a web console wrote HTML-escaped (&lt;p&gt;…, 【 as &#12304;, escaped twice:
    &amp;nbsp;) decoded, and which rows were."""
    found = np.zeros(len(text), dtype=bool)
    maybe = rows_holding(text, "&")
    if not len(maybe):
        return text, found
    escaped = [position for position, value in zip(maybe.tolist(), text.iloc[maybe].tolist())
               if isinstance(value, str) and _ENTITY.search(value)]
    if not escaped:
        return text, found
    found[escaped] = True
    decoded = []
    for value in text.iloc[escaped].tolist():
        for _ in range(3):  # an export escaping twice (&amp;lt;) decodes in two passes
            if not _ENTITY.search(value):
                break
            value = html.unescape(value)
        decoded.append(value)
    plain = text.copy()
    plain.iloc[escaped] = decoded
    return plain, found


def without_markup(text: pd.Series) -> tuple[pd.Series, int]:
    """``text`` with each HTML fragment replaced by the text it shows (escaped text decoded first), and how
    many were."""
    text, escaped = _unescaped(text)
    rows = html_rows(text)
    if not rows.any():
        return text, int(escaped.sum())
    plain = text.copy()
    plain.iloc[np.flatnonzero(rows)] = [fragment_text(value) for value in text.iloc[np.flatnonzero(rows)]]
    return plain, int((rows | escaped).sum())

"""Readers: turn a document (UTF-8 text, PDF with a text layer, HTML) into plain text.

The text returned here is *raw*: :func:`kg.extract.normalise.normalise` makes it the canonical text that every
span points into. Paragraphs are separated by blank lines in every reader's output, so normalisation treats all
three media types alike.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

from kg.errors import BadInput

log = logging.getLogger(__name__)

TEXT = "text/plain"
HTML = "text/html"
PDF = "application/pdf"

_SUFFIXES = {
    ".txt": TEXT,
    ".text": TEXT,
    ".md": TEXT,
    ".html": HTML,
    ".htm": HTML,
    ".xhtml": HTML,
    ".pdf": PDF,
}

# Block-level HTML elements whose text becomes one paragraph each.
_BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "blockquote", "pre", "td", "th", "caption")
_DROP = ("script", "style", "noscript", "template", "head", "nav", "svg", "form", "button")
_MARKUP_RE = re.compile(r"<\s*(?:!doctype|html|body|p|div|h[1-6]|ul|ol|li|section|article)\b", re.IGNORECASE)


def guess_media_type(name: str | None, data: bytes) -> str:
    """The media type of a document from its file name's suffix, else from its first bytes.

    >>> guess_media_type("a.pdf", b"")
    'application/pdf'
    >>> guess_media_type(None, b"<!DOCTYPE html><p>x</p>")
    'text/html'
    """
    if name:
        media_type = _SUFFIXES.get(Path(name).suffix.lower())
        if media_type:
            return media_type
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF"):
        return PDF
    if _MARKUP_RE.search(head.decode("utf-8", "ignore")):
        return HTML
    return TEXT


def read_document(path: Path | str) -> tuple[str, str]:
    """Read a declaration document from ``path``.

    Returns ``(text, media_type)``: the document's plain text (paragraphs separated by blank lines; HTML and PDF
    already converted) and the media type it was read as (``text/plain``, ``text/html`` or ``application/pdf``).
    Raises :class:`kg.errors.BadInput` naming the file when it cannot be read, is empty, is not UTF-8 text, is a
    PDF without a text layer, or is not a document at all.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file", file=str(path)) from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not a document", file=str(path)) from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read ({exc.strerror or exc})", file=str(path)) from None
    return read_bytes(data, name=str(path))


def read_bytes(data: bytes, *, name: str | None = None, media_type: str | None = None) -> tuple[str, str]:
    """Read a document given as bytes (an upload, say); ``name`` is used in messages and to guess the type.

    Returns ``(text, media_type)`` like :func:`read_document`; raises :class:`kg.errors.BadInput`.
    """
    label = name or "document"
    if not data.strip():
        raise BadInput(f"{label}: the file is empty", file=label)
    media_type = (media_type or guess_media_type(name, data)).split(";")[0].strip().lower()
    if media_type == PDF:
        text = pdf_to_text(data, name=label)
    elif media_type in (HTML, "application/xhtml+xml"):
        media_type = HTML
        text = html_to_text(_decode_html(data, label))
    elif media_type.startswith("text/") or media_type == "application/octet-stream":
        media_type = TEXT
        text = _decode(data, label)
    else:
        raise BadInput(f"{label}: unsupported media type {media_type} (use text, HTML or PDF)", file=label)
    if not text.strip():
        raise BadInput(f"{label}: no text in the document", file=label)
    log.debug("read %s as %s: %d characters", label, media_type, len(text))
    return text, media_type


def _decode(data: bytes, label: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{label}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})", file=label
        ) from None
    if "\x00" in text:
        raise BadInput(f"{label}: binary data, not a text document", file=label)
    return text


def _decode_html(data: bytes, label: str) -> str:
    """HTML as UTF-8, else in the encoding it declares or that its bytes show (``<meta charset>``)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from bs4 import UnicodeDammit

        markup = UnicodeDammit(data, is_html=True).unicode_markup
        if markup is None:
            raise BadInput(f"{label}: HTML in an encoding that cannot be recognised", file=label) from None
        log.debug("%s: HTML decoded as %s", label, UnicodeDammit(data, is_html=True).original_encoding)
        return markup


def looks_like_html(text: str) -> bool:
    """Whether ``text`` is HTML markup rather than text already converted from it."""
    return bool(_MARKUP_RE.search(text))


def html_to_text(markup: str) -> str:
    """Plain text of an HTML document: one paragraph per paragraph, list item, heading or innermost ``div``.

    Scripts, styles and other non-content elements are dropped; a double ``<br>`` separates paragraphs, a single
    one is a line break inside one; a list item keeps its sub-lists. Without a heading in the body, the ``<title>``
    comes first. Items of an ordered list are prefixed with their
    number ("3. "), items of other lists with "- ", so list structure survives as clause labels.

    >>> html_to_text("<h1>T</h1><script>x()</script><ol><li>One</li><li>Two</li></ol>")
    'T\\n\\n1. One\\n\\n2. Two'
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    title = " ".join(soup.title.get_text(" ").split()) if soup.title else ""
    for tag in soup.find_all(_DROP):
        tag.decompose()
    root = soup.body or soup
    numbers: dict[int, int] = {}
    for ordered in root.find_all("ol"):
        start_attr = str(ordered.get("start", "1"))
        start = int(start_attr) if start_attr.isdigit() else 1
        for index, item in enumerate(ordered.find_all("li", recursive=False)):
            numbers[id(item)] = start + index
    for br in root.find_all("br"):
        br.replace_with("\n")
    paragraphs: list[str] = []
    for element in root.find_all((*_BLOCKS, "div")):
        if element.name == "li":
            if element.find_parent("li") is not None:
                continue  # a sub-item is part of its item
        elif element.find_parent("li") is not None or element.find(_BLOCKS + ("div",)) is not None:
            continue  # inside a list item, or a container of other blocks (each of which is read)
        # A double line break separates paragraphs; a single one is a wrapped line.
        parts = [" ".join(part.split()) for part in re.split(r"\n\s*\n", element.get_text(" "))]
        for text in (p for p in parts if p):
            if element.name == "li" and text is parts[0]:
                if id(element) in numbers:
                    text = f"{numbers[id(element)]}. {text}"
                elif not re.match(r"^[-•–*]\s", text):
                    text = f"- {text}"
            paragraphs.append(text)
    if not paragraphs:  # no block elements: fall back to the text with line breaks
        paragraphs = [" ".join(line.split()) for line in root.get_text("\n").split("\n") if line.strip()]
    if title and paragraphs and not root.find(("h1", "h2", "h3")) and paragraphs[0] != title:
        paragraphs.insert(0, title)  # no heading in the body: the document's <title> is its title
    return "\n\n".join(paragraphs)


def pdf_to_text(data: bytes, *, name: str = "document") -> str:
    """The text layer of a PDF, page by page (pages separated by a form feed).

    pypdf's layout mode keeps the blank lines between paragraphs; runs of spaces it uses for positioning are
    collapsed later by normalisation. Raises :class:`kg.errors.BadInput` for a broken or encrypted PDF and for one
    without a text layer (a scan).
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise BadInput(f"{name}: the PDF is encrypted", file=name)
        pages: list[str] = []
        for page in reader.pages:
            try:
                pages.append(page.extract_text(extraction_mode="layout"))
            except Exception:  # noqa: BLE001 - pypdf's layout mode fails on some fonts; plain mode still works
                log.debug("layout extraction failed on a page of %s; using plain mode", name)
                pages.append(page.extract_text())
    except BadInput:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BadInput(f"{name}: not a readable PDF ({exc})", file=name) from None
    text = "\n\f\n".join(pages)
    if not text.replace("\f", "").strip():
        raise BadInput(f"{name}: the PDF has no text layer (a scanned image?)", file=name)
    return text

"""Readers: UTF-8 text, HTML and PDF documents, and the errors for files that cannot be used."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import BadInput, NotADeclaration
from kg.extract import extract_declaration, read_bytes, read_document
from kg.extract.readers import html_to_text

CORPUS = Path(__file__).parent / "corpus"


def make_pdf(
    path: Path, text: str, *, running_header: str | None = None, page_numbers: bool = False, page_format: str | tuple[float, float] = "A4"
) -> Path:
    """Write ``text`` (paragraphs separated by blank lines; a form feed starts a page) as a PDF with fpdf2.

    fpdf2 wraps the paragraphs itself and breaks pages where they fall, so paragraphs run across pages. Optionally
    every page after the first gets a running header, and every page a "- n -" page number in its footer. Uses
    DejaVu Sans when the system has it (any Unicode), else Helvetica (Latin-1 only).
    """
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 is needed to make a test PDF (pip install fpdf2)")
    font = _dejavu()
    family = "DejaVu" if font else "Helvetica"

    def plain(value: str) -> str:
        return value if font else value.encode("latin-1", "replace").decode("latin-1")

    class Document(fpdf.FPDF):  # type: ignore[misc, name-defined]
        def header(self) -> None:
            if running_header and self.page_no() > 1:
                self.set_font(family, size=8)
                self.cell(0, 5, plain(running_header), align="C")
                self.ln(10)

        def footer(self) -> None:
            if page_numbers:
                self.set_y(-12)
                self.set_font(family, size=8)
                self.cell(0, 5, f"- {self.page_no()} -", align="C")

    pdf = Document(format=page_format)
    if font:
        pdf.add_font("DejaVu", fname=font)
    pdf.set_auto_page_break(True, margin=18)
    for page in text.split("\f"):
        pdf.add_page()
        for paragraph in page.strip().split("\n\n"):
            pdf.set_font(family, size=11)
            pdf.multi_cell(0, 6, plain(paragraph))
            pdf.ln(5)
    pdf.output(str(path))
    return path


def _dejavu() -> str | None:
    for candidate in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf"):
        if Path(candidate).exists():
            return candidate
    return None


def test_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "d.txt"
    path.write_bytes("\ufeffTITLE\r\n\r\nWe note the report.\r\n".encode())
    text, media_type = read_document(path)
    assert media_type == "text/plain"
    assert "We note the report." in text


def test_html_paragraphs_lists_and_headings_scripts_dropped() -> None:
    text, media_type = read_document(CORPUS / "html-declaration-labour-migration.html")
    assert media_type == "text/html"
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == "Santiago Declaration on Labour Migration"
    assert paragraphs[2].startswith("1. Recognise that labour migration")
    assert "2. Commit to promote decent work and fair recruitment" in text  # inline markup flattened
    assert "analytics" not in text and "font-family" not in text and "Decide to ignore" not in text
    assert "Home" not in text  # navigation is not content


def test_html_unordered_list_and_start_attribute() -> None:
    assert html_to_text("<ul><li>One</li><li>- Two</li></ul>") == "- One\n\n- Two"
    assert html_to_text('<ol start="4"><li>Four</li><li>Five</li></ol>') == "4. Four\n\n5. Five"


def test_html_given_as_markup_to_extract() -> None:
    markup = (CORPUS / "html-declaration-labour-migration.html").read_text(encoding="utf-8")
    declaration = extract_declaration(markup, media_type="text/html")
    assert declaration.title == "Santiago Declaration on Labour Migration"
    assert len(declaration.clauses) == 5


def test_pdf_text_layer(tmp_path: Path) -> None:
    source = (CORPUS / "numbered-ministerial-declaration.txt").read_text(encoding="utf-8")
    path = make_pdf(tmp_path / "d.pdf", source)
    text, media_type = read_document(path)
    assert media_type == "application/pdf"
    declaration = extract_declaration(text, media_type=media_type, source_name=path.name)
    assert [c.label for c in declaration.clauses] == ["1.", "2.", "3.", "4.", "5.", "6."]
    assert declaration.title == "Declaration of the Ministers on Migration and Development"


def test_pdf_across_pages(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "d.pdf", "TITLE OF IT\n\nWe note the first point.\f We agree on the second point.")
    text, _ = read_document(path)
    declaration = extract_declaration(text, media_type="application/pdf")
    assert [c.text for c in declaration.clauses] == ["We note the first point.", "We agree on the second point."]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n \t\n", "empty"),
        ("latin1.txt", "Communiqué".encode("latin-1"), "not UTF-8"),
        ("binary.txt", b"abc\x00def", "binary"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("empty.html", b"<html><body><script>x()</script></body></html>", "no text"),
    ],
)
def test_unusable_files_name_the_file_and_the_problem(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadInput) as caught:
        read_document(path)
    assert name in str(caught.value)
    assert message in str(caught.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        read_document(tmp_path / "nope.txt")
    with pytest.raises(BadInput, match="directory"):
        read_document(tmp_path)


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 is needed to make a test PDF")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    with pytest.raises(BadInput, match="scan.pdf.*no text layer"):
        read_document(path)


def test_not_a_declaration_names_the_source() -> None:
    with pytest.raises(NotADeclaration, match="shopping.txt: no clauses"):
        extract_declaration("SHOPPING LIST", source_name="shopping.txt")


def test_read_bytes_guesses_the_type() -> None:
    assert read_bytes(b"<!DOCTYPE html><p>We note.</p>")[1] == "text/html"
    assert read_bytes(b"We note.", name="x.txt") == ("We note.", "text/plain")
    with pytest.raises(BadInput, match="unsupported media type"):
        read_bytes(b"abc", name="x", media_type="image/png")


def test_html_divs_line_breaks_and_nested_blocks() -> None:
    markup = (
        "<div class=page><div>TITLE HERE</div><div>We, the Ministers:</div>"
        "<div>Note the report.<br><br>Agree on it,<br>really.</div></div>"
        "<blockquote><p>A</p><p>B</p></blockquote><ol><li><p>One</p><ol><li>sub</li></ol></li><li>Two</li></ol>"
    )
    assert html_to_text(markup).split("\n\n") == [
        "TITLE HERE",
        "We, the Ministers:",
        "Note the report.",
        "Agree on it, really.",
        "A",
        "B",
        "1. One sub",
        "2. Two",
    ]


def test_html_title_element_when_the_body_has_no_heading() -> None:
    markup = "<html><head><title>Lima Statement</title></head><body><p>We note the report.</p></body></html>"
    assert html_to_text(markup) == "Lima Statement\n\nWe note the report."
    declaration = extract_declaration(markup, media_type="text/html")
    assert declaration.title == "Lima Statement" and len(declaration.clauses) == 1


def test_html_in_a_declared_legacy_encoding(tmp_path: Path) -> None:
    path = tmp_path / "legacy.html"
    path.write_bytes(
        '<html><head><meta charset="iso-8859-1"></head><body><h1>Communiqué de Lima</h1><p>We note.</p></body></html>'.encode(
            "latin-1"
        )
    )
    text, media_type = read_document(path)
    assert media_type == "text/html" and text.startswith("Communiqué de Lima")

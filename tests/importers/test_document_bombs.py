"""Documents built to exhaust the server: a few megabytes that unpack to a gigabyte, tens of
thousands of empty pages, a web page of tags nested a million deep, workbooks within every
limit that unpack to 95 MB of cells. Each is refused by a limit it names (its zip directory,
its page tree, its lines, its characters, its time or its upload's), read in a child
process, and the server's memory stays where it was; the good document beside them still
imports. Nothing here is timed: each refusal is the limit's."""

from __future__ import annotations

import html
import io
import re
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.console.test_console_imports import GOOD, PAGE, actions, confirm
from tests.support.console import MANAGER, csrf, link_token
from tests.support.web import server_process
from worker.app import App
from worker.cli import main
from worker.importers import Received, parse_document
from worker.importers.errors import DocumentError
from worker.importers.limits import Limits, OutOfTimeError, read_apart
from worker.importers.read import Read

GB = 1024**3
CHUNK = b"A" * (1 << 20)


def zip_bomb(path: Path, part: str, unpacked: int = GB) -> Path:
    """An Office package whose `part` is `unpacked` bytes of one letter (about 1 MB packed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        big = part
        if part.endswith("workbook.xml"):  # the workbook small, its shared strings the bomb
            archive.writestr(part, "<x/>")
            big = "xl/sharedStrings.xml"
        with archive.open(big, "w", force_zip64=True) as member:
            for _ in range(unpacked // len(CHUNK)):
                member.write(CHUNK)
    return path


def page_bomb(path: Path, pages: int = 50_000) -> Path:
    """A PDF of `pages` empty pages, written object by object."""
    objects = ["<</Type/Catalog/Pages 2 0 R>>",
               f"<</Type/Pages/MediaBox[0 0 9 9]/Count {pages}/Kids["
               + " ".join(f"{n + 3} 0 R" for n in range(pages)) + "]>>"]  # fmt: skip
    objects += ["<</Type/Page/Parent 2 0 R>>"] * pages
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj{body}endobj\n".encode()
    start = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{start}\n%%EOF\n".encode()
    )
    path.write_bytes(bytes(out))
    return path


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), from /proc."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    assert found, status
    return int(found.group(1)) / 1024


def test_bombs_uploaded_beside_a_good_plan_are_refused_quickly_in_a_real_server(
    app: App, tmp_path: Path
) -> None:
    bombs = {
        "figures.xlsx": zip_bomb(tmp_path / "figures.xlsx", "xl/workbook.xml"),
        "letter.docx": zip_bomb(tmp_path / "letter.docx", "word/document.xml"),
        "pages.pdf": page_bomb(tmp_path / "pages.pdf"),
    }
    assert all(path.stat().st_size < 5_000_000 for path in bombs.values())
    env = {"REMINDERS_DATABASE_URL": app.settings.database_url}
    with server_process(env, tmp_path / "serve.log") as (client, server):
        sign_in(client, app)
        before = peak_memory_mb(server.pid)
        files = [
            ("files", (name, path.read_bytes(), "application/octet-stream"))
            for name, path in bombs.items()
        ] + [("files", ("plan.csv", GOOD, "text/csv"))]
        preview = client.post(f"{PAGE}/preview", files=files,
                              data={"csrftoken": csrf(client.get(PAGE)), "plan": ""})  # fmt: skip
        peak = peak_memory_mb(server.pid)
        text = html.unescape(preview.text)
        assert preview.status_code == 200, text
        assert "figures.xlsx" in text
        assert "unpacks to 1,024 MB; the limit is 100 MB" in text
        assert "letter.docx" in text
        assert "unpacks to 1,024 MB" in text
        assert "pages.pdf" in text
        assert "has 50,000 pages; the limit is 500" in text
        assert confirm(client, preview).status_code == 303
    print(f"\nbombs refused; server peak memory {before:.0f} → {peak:.0f} MB")
    assert peak < 300, f"the server's peak memory reached {peak:.0f} MB"
    assert actions(app) == ["1.1", "1.2"]  # the good plan beside them


def sign_in(client: httpx.Client, app: App) -> None:
    token = link_token(app, MANAGER)
    offer = client.get(f"/console/sign-in/{token}")
    assert (
        client.post(f"/console/sign-in/{token}", data={"csrftoken": csrf(offer)}).status_code == 303
    )


def test_a_package_whose_directory_lies_is_read_no_further_than_it_declares(
    app: App, tmp_path: Path
) -> None:
    """A part that declares a few bytes but packs a gigabyte: zipfile stops at the declared
    size and the CRC fails, so the document is refused having read almost nothing."""
    path = zip_bomb(tmp_path / "liar.docx", "word/document.xml", unpacked=64 * 1024 * 1024)
    data = bytearray(path.read_bytes())
    directory = data.rfind(b"PK\x01\x02")  # the last member's entry in the central directory
    with zipfile.ZipFile(path) as archive:
        honest = archive.getinfo("word/document.xml").file_size
    data[directory + 24 : directory + 28] = (4096).to_bytes(4, "little")  # declared: 4 KB
    assert honest > 4096
    document = Received("liar.docx", bytes(data))
    error = refused(document, app)
    assert "cannot be read" in error or "Bad CRC" in error or "unpacks" in error


def refused(document: Received, app: App) -> str:
    try:
        parse_document(document, app.import_options())
    except Exception as exc:  # the refusal, whatever its kind
        return str(exc)
    raise AssertionError(f"{document.name} was read")


def test_the_same_limits_hold_on_the_command_line(app: App, tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "figures.xlsx", "xl/workbook.xml")
    plan = tmp_path / "plan.csv"
    plan.write_bytes(GOOD)
    result = CliRunner().invoke(main, ["import", str(bomb), str(plan)])
    assert result.exit_code == 1
    assert "figures.xlsx" in result.output
    assert "unpacks to 1,024 MB" in result.output
    assert actions(app) == ["1.1", "1.2"]


def greedy(data: bytes) -> Read:
    """A reader that wants far more memory than its limit."""
    hoard = [bytearray(64 * 1024 * 1024) for _ in range(64)]
    return Read([str(len(hoard))], ["nowhere"])


def slow(data: bytes) -> Read:
    time.sleep(30)
    return Read([], [])


def test_a_reader_that_gets_past_the_checks_stops_only_itself() -> None:
    with pytest.raises(DocumentError, match="needs more than 256 MB to read"):
        read_apart(greedy, b"x", Limits(memory_mb=256, seconds=60))  # time for a busy machine
    with pytest.raises(OutOfTimeError, match="took longer than 2 s to read"):
        read_apart(slow, b"x", Limits(seconds=2))  # stopped by its limit: the child is killed


WORDS = ("Health", "Police", "school", "review", "training", "board", "children", "team")


def sheet_rows(unpacked: int) -> bytes:
    """A worksheet's rows, `unpacked` bytes of them: eight cells of a sentence each."""
    rows, size, number = [], 0, 0
    while size < unpacked:
        number += 1
        cells = "".join(f'<c t="inlineStr"><is><t>Audit the referrals of team {number} and '
                        f"report to the {WORDS[(number * 7 + i) % 8]}</t></is></c>"
                        for i in range(8))  # fmt: skip
        rows.append(f'<row r="{number + 1}">{cells}</row>'.encode())
        size += len(rows[-1])
    return b"".join(rows)


PACKAGE = "http://schemas.openxmlformats.org/package/2006"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
PARTS = {  # a workbook of one sheet, as Excel writes its package
    "[Content_Types].xml": f'<Types xmlns="{PACKAGE}/content-types"><Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
    'Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
    f'ContentType="{SHEET}.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
    f'ContentType="{SHEET}.worksheet+xml"/></Types>',
    "_rels/.rels": f'<Relationships xmlns="{PACKAGE}/relationships"><Relationship Id="rId1" '
    f'Type="{OFFICE}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
    f'main" xmlns:r="{OFFICE}"><sheets><sheet name="Actions" sheetId="1" r:id="rId1"/>'
    "</sheets></workbook>",
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PACKAGE}/relationships">'
    f'<Relationship Id="rId1" Type="{OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>",
}


def workbook(rows: bytes, title: str) -> bytes:
    """An .xlsx of about 3 MB, within every limit of its zip directory, whose sheet unpacks
    to the size of `rows` (95 MB: 28 times what it packs to), under a first row `title`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in PARTS.items():
            archive.writestr(name, part)
        head = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f'<sheetData><row r="1"><c t="inlineStr"><is><t>{title}</t></is></c></row>')  # fmt: skip
        archive.writestr("xl/worksheets/sheet1.xml",
                         head.encode() + rows + b"</sheetData></worksheet>")  # fmt: skip
    return out.getvalue()


def nested_page(size: int) -> bytes:
    """A web page of `size` bytes of tags opened and never closed, a million deep."""
    return b"<!DOCTYPE html><html><body>" + b"<div><p>x" * (size // 9)


REFUSED = re.compile(r"(has more than [\d,]+ (lines as read|characters of text)|took longer "
                     r"than [\d.]+ s to read|an upload's documents may take to read)")  # fmt: skip


def test_a_nested_page_and_four_workbooks_of_95_mb_hold_neither_server_nor_memory(
    app: App, tmp_path: Path
) -> None:
    """Before: the page held a server thread for minutes (BeautifulSoup's time grows with
    the square of its nesting), and each workbook's 95 MB of lines came back into the
    server (150 → 451 MB for one)."""
    rows = sheet_rows(95 * 1024 * 1024 - 4096)
    bombs = {f"figures-{n}.xlsx": workbook(rows, f"Tracker {n}") for n in range(1, 5)}
    bombs["portal.html"] = nested_page(5 * 1024 * 1024 - 64)
    assert all(len(data) <= 5 * 1024 * 1024 for data in bombs.values())
    with zipfile.ZipFile(io.BytesIO(bombs["figures-1.xlsx"])) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size > 94 * 1024 * 1024
    env = {"REMINDERS_DATABASE_URL": app.settings.database_url}
    with server_process(env, tmp_path / "serve.log") as (client, server):
        sign_in(client, app)
        before = peak_memory_mb(server.pid)
        files = [("files", (name, data, "application/octet-stream"))
                 for name, data in bombs.items()] + [("files", ("plan.csv", GOOD, "text/csv"))]  # fmt: skip
        preview = client.post(f"{PAGE}/preview", files=files, timeout=600,
                              data={"csrftoken": csrf(client.get(PAGE)), "plan": ""})  # fmt: skip
        peak = peak_memory_mb(server.pid)
        text = html.unescape(preview.text)
        assert preview.status_code == 200, text[-3000:]
        for name in bombs:
            refusal = text.split(f"{name}: ", 1)[1][:400]
            assert REFUSED.search(refusal), (name, refusal)
        assert confirm(client, preview).status_code == 303
    print(f"\nserver peak memory {before:.0f} → {peak:.0f} MB")
    assert peak < 300, f"the server's peak memory reached {peak:.0f} MB"
    assert actions(app) == ["1.1", "1.2"]  # the good plan beside them

"""The streaming xlsx reader (console/lib/xlsx.py) gives exactly the rows the
python-calamine path gives, for workbooks written by openpyxl and for
hand-written sheet XML; memory stays bounded; zip bombs are still refused."""

from __future__ import annotations

import datetime
import io
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import Workbook

from audiences.files import reading
from audiences.files.reading import XLSX, FileRefused, open_rows
from audiences.files.validation import validate_file
from console.lib import xlsx as stream

ROOT = Path(__file__).resolve().parent.parent
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --- building workbooks -----------------------------------------------------------------


def openpyxl_file(
    path: Path, rows: list[list[object]], *, write_only: bool = False, title: str = "Sheet"
) -> Path:
    """A workbook as openpyxl writes it: shared strings in normal mode,
    inline strings in write-only mode."""
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet(title) if write_only else workbook.active
    if not write_only:
        sheet.title = title
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def xml_file(
    path: Path,
    sheet_data: str,
    *,
    shared: str | None = None,
    styles: str | None = None,
    workbook_pr: str = "",
    sheet_xml: str | None = None,
    sheet_names: tuple[str, ...] = ("Sheet1",),
) -> Path:
    """A workbook from hand-written parts (what other writers produce)."""
    sheets = "".join(
        f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(sheet_names, start=1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
        f'2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheet_names) + 1)
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN_NS}" xmlns:r="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships">{workbook_pr}<sheets>{sheets}</sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            f'relationships">{rels}</Relationships>',
        )
        for i in range(1, len(sheet_names) + 1):
            body = sheet_xml if sheet_xml is not None and i == 1 else None
            archive.writestr(
                f"xl/worksheets/sheet{i}.xml",
                body
                or f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<worksheet xmlns="{MAIN_NS}"><sheetData>{sheet_data if i == 1 else ""}'
                "</sheetData></worksheet>",
            )
        if shared is not None:
            archive.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN_NS}">{shared}</sst>')
        if styles is not None:
            archive.writestr(
                "xl/styles.xml", f'<styleSheet xmlns="{MAIN_NS}">{styles}</styleSheet>'
            )
    return path


def read_both(path: Path, django_settings) -> tuple[object, object]:
    """(calamine result, stream result): the rows with the sheet name and
    count, or the FileRefused code."""
    results = []
    for threshold, expected in ((10**12, "calamine"), (0, "stream")):
        django_settings.XLSX_STREAM_BYTES = threshold
        try:
            with open_rows(path, XLSX) as source:
                assert source.reader == expected
                results.append((source.sheet, source.sheet_count, list(source.rows)))
        except FileRefused as exc:
            results.append(exc.code)
    return results[0], results[1]


def assert_same(path: Path, django_settings) -> list:
    by_calamine, by_stream = read_both(path, django_settings)
    assert by_stream == by_calamine
    return by_calamine


# --- openpyxl workbooks -----------------------------------------------------------------

EVERYTHING = [
    ["phoneNumber", "name", "count", "ratio", "joined", "visit", "ok", "note"],
    [
        "+821012345678",
        "김민수",
        3,
        2.5,
        datetime.date(2024, 5, 1),
        datetime.datetime(2024, 5, 1, 13, 5),
        True,
        "a & b <c> \"d\" 'e'",
    ],
    [
        "+821012345679",
        "😀 emoji",
        -7,
        1e-07,
        datetime.date(1900, 2, 28),
        datetime.datetime(1999, 12, 31),
        False,
        "  spaced  ",
    ],
    ["+821012345680", None, 12345678901234, 0.1 + 0.2, None, datetime.time(9, 30, 15), None, ""],
    [],
    ["+821012345681", "line\nbreak", 1e20, -0.0, datetime.datetime(2024, 2, 29, 23, 59, 59)],
    [None, None, None, None, None, None, None, None, "beyond the header"],
    [
        "+821012345682",
        "tab\there",
        10**15,
        123456.789,
        None,
        datetime.timedelta(hours=30, minutes=5),
    ],
]


@pytest.mark.parametrize("write_only", [False, True], ids=["shared-strings", "inline-strings"])
def test_openpyxl_workbooks_read_the_same_by_both_readers(tmp_path, settings, write_only):
    path = openpyxl_file(tmp_path / "all.xlsx", EVERYTHING, write_only=write_only, title="고객")
    name, count, rows = assert_same(path, settings)
    assert (name, count) == ("고객", 1)
    assert rows[1] == (
        2,
        [
            "+821012345678",
            "김민수",
            "3",
            "2.5",
            "2024-05-01",
            "2024-05-01 13:05:00",
            "TRUE",
            "a & b <c> \"d\" 'e'",
        ],
    )
    assert rows[4] == (5, [])  # an empty row keeps its number
    assert rows[6] == (7, [""] * 8 + ["beyond the header"])
    assert rows[7][1][-1] == "1 day, 6:05:00"


def test_a_string_with_a_leading_equals_sign_stays_text(tmp_path, settings):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["phoneNumber", "formula-looking"])
    sheet.append(["+821012345678", None])
    sheet["B2"].value = "=1+2"
    sheet["B2"].data_type = "s"
    workbook.save(tmp_path / "eq.xlsx")
    _, _, rows = assert_same(tmp_path / "eq.xlsx", settings)
    assert rows[1] == (2, ["+821012345678", "=1+2"])


def test_number_formats_decide_what_is_a_date(tmp_path, settings):
    formats = [
        "yyyy-mm-dd",
        'yyyy"년" m"월" d"일"',
        "[$-412]AM/PM h:mm",
        "mm:ss",
        "[h]:mm",
        "#,##0",
        "0.00%",
        "General",
        '"Y: "0.00',
        "0_ ;[Red]\\-0\\ ",
        "h:mm;@",
        "#,##0*y",
        "d-mmm-yy",
    ]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["phoneNumber"] + [f"f{i}" for i in range(len(formats))])
    for value in (45000.0, 0.5, 45000.75, 1.0, 61.0, 59.5, 2.25):
        sheet.append(["+821012345678"] + [value] * len(formats))
        for column, code in enumerate(formats, start=2):
            sheet.cell(row=sheet.max_row, column=column).number_format = code
    workbook.save(tmp_path / "formats.xlsx")
    _, _, rows = assert_same(tmp_path / "formats.xlsx", settings)
    assert rows[1][1][1:3] == ["2023-03-15", "2023-03-15"]


values = st.one_of(
    st.none(),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r")
        | st.sampled_from(" \n\t&<>\"'_x000D_한글😀"),
        max_size=12,
    ).filter(lambda s: not s.startswith("=")),
    st.integers(min_value=-(10**17), max_value=10**17),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.dates(min_value=datetime.date(1900, 3, 1), max_value=datetime.date(9999, 12, 31)),
    st.datetimes(min_value=datetime.datetime(1900, 3, 1), max_value=datetime.datetime(9999, 1, 1)),
)


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    grid=st.lists(st.lists(values, max_size=6), min_size=1, max_size=8),
    write_only=st.booleans(),
)
def test_any_openpyxl_grid_reads_the_same(tmp_path, settings, grid, write_only):
    path = openpyxl_file(tmp_path / "grid.xlsx", grid, write_only=write_only)
    assert_same(path, settings)


# --- hand-written sheet XML -------------------------------------------------------------

SHARED = (
    '<si><t>a</t></si><si></si><si><t xml:space="preserve">  b </t></si>'
    '<si><r><rPr><b/></rPr><t>ri</t></r><r><t xml:space="preserve"> ch</t></r></si>'
    '<si><t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh></si>'
    "<si><t>x_x000D_y &amp; &#65;\r\nz</t></si><si><t>\n  c  \n</t></si>"
)
STYLES = (
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="[h]:mm:ss"/></numFmts>'
    '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="165"/>'
    '<xf numFmtId="14"/><xf numFmtId="22"/></cellXfs>'
)
SHEETS = {
    "shared strings": '<row r="1">'
    + "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABCDEFG"))
    + "</row>",
    "inline strings": '<row r="1"><c r="A1" t="inlineStr"><is><t>  a  </t></is></c>'
    '<c r="B1" t="inlineStr"><is><t xml:space="preserve"> b </t></is></c>'
    '<c r="C1" t="inlineStr"><is><t>x&amp;y&lt;&gt;&#x1F600;</t></is></c></row>',
    "rich inline strings": '<row r="1"><c r="A1" t="inlineStr"><is><r><t>b</t></r>'
    '<r><rPr/><t xml:space="preserve"> c</t></r></is></c></row>',
    "x prefixes": None,
    "rows and cells without r": "<row><c><v>1</v></c><c><v>2</v></c></row>"
    '<row><c r="C2"><v>3</v></c><c><v>4</v></c></row><row r="5"><c><v>5</v></c></row>'
    '<row><c r="B6"><v>6</v></c></row>',
    "sparse": '<row r="3" spans="3:5"><c r="C3"><v>1</v></c><c r="E3" s="0"><v>2</v></c></row>'
    '<row r="4"><c r="A4" s="0"/></row><row r="9"><c r="B9" t="str"><v>x</v></c></row>',
    "numbers": '<row r="1"><c r="A1"><v>1E+20</v></c><c r="B1"><v>0.1</v></c>'
    '<c r="C1"><v>-0</v></c><c r="D1"><v>007</v></c><c r="E1"><v>12345678901234567</v></c>'
    '<c r="F1"><v> 5</v></c><c r="G1"><v>abc</v></c><c r="H1" t="n"><v>1.5e3</v></c>'
    '<c r="I1"><v>inf</v></c><c r="J1"><v>+.5e-3</v></c><c r="K1" t="n"><v></v></c></row>',
    "dates": '<row r="1"><c r="A1" s="1"><v>45000</v></c><c r="B1" s="1"><v>45000.5</v></c>'
    '<c r="C1" s="2"><v>1.25</v></c><c r="D1" s="3"><v>0.75</v></c><c r="E1" s="4">'
    '<v>60</v></c><c r="F1" s="4"><v>59</v></c><c r="G1" s="1"><v>2958466</v></c>'
    '<c r="H1" s="9"><v>45000</v></c><c r="I1" s="1"><v>45000.000001</v></c>'
    '<c r="J1" t="d"><v>2024-01-02T03:04:05</v></c><c r="K1" t="d"><v>2024-01-02</v></c></row>',
    "formulas with cached values": '<row r="1"><c r="A1"><f>1+1</f><v>2</v></c>'
    '<c r="B1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="C1"><f>1+1</f></c>'
    '<c r="D1"><f t="shared" ref="D1:D2" si="0">A1</f><v>2</v></c></row>'
    '<row r="2"><c r="D2"><f t="shared" si="0"/><v>3</v></c></row>',
    "booleans and errors": '<row r="1"><c r="A1" t="b"><v>0</v></c><c r="B1" t="b"><v>1</v></c>'
    '<c r="C1" t="e"><v>#DIV/0!</v></c><c r="D1"><v>1</v></c><c r="E1" t="e"><v>#N/A</v></c>'
    "</row>",
    "comments and CDATA": '<row r="1"><c r="A1" t="inlineStr"><is><t><![CDATA[a<b]]></t></is>'
    '</c><!-- note --><c r="B1"><v>2</v></c></row>',
    "pretty printed": '\n  <row r="1">\n    <c r="A1" t="inlineStr">\n      <is>\n'
    '        <t>a</t>\n      </is>\n    </c>\n    <c r="B1">\n      <v>2</v>\n    </c>\n'
    "  </row>\n",
    "single quotes and attribute order": "<row r='1'><c s='0' r='A1'><v>1</v></c>"
    '<c t="str" r="B1"><v>q</v></c></row>',
    "empty sheet": "",
    "only styled cells": '<row r="1"><c r="A1" s="1"/><c r="B1" s="2"/></row>',
    "carriage returns": '<row r="1"><c r="A1" t="inlineStr"><is><t>x\r\ny\rz</t></is></c>'
    '<c r="B1" t="str"><v>p&#13;q_x0041_</v></c></row>',
}
X_PREFIXED = (
    '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<x:sheetData><x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c>'
    '<x:c r="B1" t="inlineStr"><x:is><x:t>in</x:t></x:is></x:c><x:c r="C1"><x:v>7</x:v></x:c>'
    '</x:row><x:row r="2"><x:c r="B2" s="1"><x:v>45000</x:v></x:c></x:row></x:sheetData>'
    "</x:worksheet>"
)


@pytest.mark.parametrize("case", list(SHEETS))
def test_hand_written_sheet_xml_reads_the_same(tmp_path, settings, case):
    sheet_xml = X_PREFIXED if case == "x prefixes" else None
    path = xml_file(
        tmp_path / "hand.xlsx",
        SHEETS[case] or "",
        shared=SHARED,
        styles=STYLES,
        sheet_xml=sheet_xml,
    )
    assert_same(path, settings)


def test_shared_strings_follow_excels_rules(tmp_path, settings):
    path = xml_file(tmp_path / "s.xlsx", SHEETS["shared strings"], shared=SHARED)
    _, _, rows = assert_same(path, settings)
    assert rows == [(1, ["a", "", "  b ", "ri ch", "漢字", "x\ry & A\nz", "c"])]


def test_the_1904_date_system_reads_the_same(tmp_path, settings):
    path = xml_file(
        tmp_path / "1904.xlsx",
        '<row r="1"><c r="A1" s="1"><v>0</v></c><c r="B1" s="1"><v>45000.25</v></c>'
        '<c r="C1" s="3"><v>1</v></c></row>',
        styles=STYLES,
        workbook_pr='<workbookPr date1904="1"/>',
    )
    _, _, rows = assert_same(path, settings)
    assert rows == [(1, ["00:00:00", "2027-03-16 06:00:00", "1904-01-02"])]


def test_rows_are_numbered_as_the_sheet_shows_them_when_the_first_rows_are_empty(
    tmp_path, settings
):
    path = xml_file(tmp_path / "late.xlsx", SHEETS["sparse"])
    _, _, rows = assert_same(path, settings)
    assert rows == [(1, []), (2, []), (3, ["", "", "1", "", "2"])] + [
        (n, []) for n in range(4, 9)
    ] + [(9, ["", "x"])]


def test_an_irregular_row_after_many_regular_ones_switches_reader_without_repeating_rows(
    tmp_path, settings
):
    regular = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>+8210{n:08d}</t></is></c>'
        f'<c r="B{n}"><v>{n}</v></c></row>'
        for n in range(1, 30_001)
    )
    odd = '<row r="30001"><c r="A30001" t="inlineStr"><is><r><t>rich</t></r></is></c></row>'
    path = xml_file(
        tmp_path / "late-odd.xlsx",
        regular + odd + '<row r="30002"><c r="A30002"><v>1</v></c></row>',
    )
    assert zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size > 2 * (1 << 20)
    _, _, rows = assert_same(path, settings)
    assert [number for number, _ in rows] == list(range(1, 30_003))
    assert rows[-2:] == [(30001, ["rich"]), (30002, ["1"])]


def test_first_sheet_in_workbook_order_with_its_name(tmp_path, settings):
    path = xml_file(
        tmp_path / "two.xlsx",
        '<row r="1"><c r="A1"><v>1</v></c></row>',
        sheet_names=("첫 시트 &amp; more", "Second"),
    )
    name, count, rows = assert_same(path, settings)
    assert (name, count, rows) == ("첫 시트 & more", 2, [(1, ["1"])])


@pytest.mark.parametrize(
    "sheet_data",
    [
        '<row r="1"><c r="A1" t="zz"><v>1</v></c></row>',
        '<row r="1"><c r="A1" t="e"><v>#SPILL!</v></c></row>',
        '<row r="1"><c r="A1" t="b"><v>2</v></c></row>',
        '<row r="1"><c r="A1" t="s"><v>99</v></c></row>',
        '<row r="1"><c r="A1" t="n"><v>1,5</v></c></row>',
    ],
    ids=["unknown type", "unknown error", "bad boolean", "missing shared string", "bad number"],
)
def test_cells_calamine_refuses_are_refused_by_both(tmp_path, settings, sheet_data):
    path = xml_file(tmp_path / "bad.xlsx", sheet_data, shared="<si><t>a</t></si>")
    assert read_both(path, settings) == ("xlsx_unreadable", "xlsx_unreadable")


def test_rows_out_of_order_are_refused_by_the_stream(tmp_path, settings):
    """Excel never writes them; the stream cannot reorder rows it already gave."""
    path = xml_file(
        tmp_path / "order.xlsx",
        '<row r="2"><c r="A2"><v>1</v></c></row><row r="1"><c r="A1"><v>2</v></c></row>',
    )
    by_calamine, by_stream = read_both(path, settings)
    assert by_calamine[2] == [(1, ["2"]), (2, ["1"])]
    assert by_stream == "xlsx_unreadable"


def test_a_workbook_without_sheets_is_empty_for_both(tmp_path, settings):
    path = xml_file(tmp_path / "none.xlsx", "", sheet_names=())
    assert read_both(path, settings) == ("file_empty", "file_empty")


# --- validation and limits --------------------------------------------------------------


def test_validation_outcome_is_the_same_with_either_reader(tmp_path, settings):
    rows = [["phoneNumber", "", "name"], ["+821012345678", "a"], ["010-1234-5678", "b"]]
    rows += [["+821012345678", "dup"], [821012345679, "c", "", "stray"], [None], ["+8210123"]]
    path = openpyxl_file(tmp_path / "v.xlsx", rows)
    outcomes = []
    for threshold in (10**12, 0):
        settings.XLSX_STREAM_BYTES = threshold
        outcome = validate_file(path, XLSX, max_rows=100, spool=tmp_path / "spool")
        outcomes.append((outcome.columns, outcome.rows, outcome.errors, outcome.correctable))
    assert outcomes[0] == outcomes[1]
    codes = [(e["row"], e["column"], e["code"]) for e in outcomes[0][2]]
    assert (5, 4, "cell_without_header") in codes and (1, 2, "header_empty") in codes


@pytest.mark.parametrize("threshold", [10**12, 0], ids=["calamine", "stream"])
def test_zip_bombs_and_huge_shared_strings_are_refused_before_either_reader(
    tmp_path, settings, threshold
):
    settings.XLSX_STREAM_BYTES = threshold
    settings.AUDIENCE_FILE_MAX_UNCOMPRESSED_BYTES = 1_000_000
    path = xml_file(
        tmp_path / "bomb.xlsx",
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
        shared="<si><t>" + "a" * 5_000_000 + "</t></si>",
    )
    assert path.stat().st_size < 50_000
    outcome = validate_file(path, XLSX, max_rows=10, spool=tmp_path / "spool")
    assert [e["code"] for e in outcome.errors] == ["xlsx_too_large_uncompressed"]


def test_the_reader_is_chosen_by_the_size_of_the_first_sheets_xml(tmp_path, settings):
    path = openpyxl_file(tmp_path / "size.xlsx", [["phoneNumber"], ["+821012345678"]])
    size = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    settings.XLSX_STREAM_BYTES = size
    assert reading.xlsx_reader(path) == "calamine"
    settings.XLSX_STREAM_BYTES = size - 1
    assert reading.xlsx_reader(path) == "stream"


def test_the_stream_reports_progress(tmp_path):
    rows = [["phoneNumber", "n"]] + [[f"+8210{i:08d}", i] for i in range(5000)]
    path = openpyxl_file(tmp_path / "p.xlsx", rows, write_only=True)
    with stream.open_sheet(path) as sheet:
        assert sheet.done() == 0
        seen = [sheet.done() for _ in sheet.rows()]
    assert seen[-1] == 1.0 and seen == sorted(seen)


# --- memory -----------------------------------------------------------------------------

MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys, tracemalloc, zipfile
    sys.path.insert(0, {root!r})
    from console.lib.xlsx import open_sheet

    path, rows, shared = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "shared"
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    def row(n):
        if shared:
            return (f'<row r="{{n}}"><c r="A{{n}}" t="s"><v>{{n - 1}}</v></c>'
                    f'<c r="B{{n}}" t="s"><v>{{n - 1}}</v></c><c r="C{{n}}"><v>{{n}}</v></c>'
                    f'<c r="D{{n}}" t="inlineStr"><is><t>C{{n % 9973:05d}}</t></is></c></row>')
        return (f'<row r="{{n}}"><c r="A{{n}}" t="inlineStr"><is><t>+8210{{n:08d}}</t></is></c>'
                f'<c r="B{{n}}" t="inlineStr"><is><t>Name {{n}}</t></is></c>'
                f'<c r="C{{n}}"><v>{{n}}</v></c>'
                f'<c r="D{{n}}" t="inlineStr"><is><t>C{{n % 9973:05d}}</t></is></c></row>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("_rels/.rels", '<Relationships><Relationship Id="rId1" Type="x/officeDocument" '
                   'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{{ns}}" xmlns:r="r"><sheets>'
                   '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships><Relationship Id="rId1" '
                   'Target="worksheets/sheet1.xml"/></Relationships>')
        with z.open("xl/worksheets/sheet1.xml", "w") as out:
            out.write(f'<worksheet xmlns="{{ns}}"><sheetData>'.encode())
            for start in range(1, rows + 1, 10_000):
                out.write("".join(row(n) for n in range(start, min(start + 10_000, rows + 1)))
                          .encode())
            out.write(b"</sheetData></worksheet>")
        if shared:
            with z.open("xl/sharedStrings.xml", "w") as out:
                out.write(f'<sst xmlns="{{ns}}">'.encode())
                for start in range(0, rows, 10_000):
                    out.write("".join(f"<si><t>+8210{{n:08d}}</t></si>"
                                      for n in range(start, min(start + 10_000, rows))).encode())
                out.write(b"</sst>")
    tracemalloc.start()
    count = 0
    with open_sheet(path) as sheet:
        strings = len(sheet.strings.data) + sheet.strings.offsets.itemsize * len(
            sheet.strings.offsets)
        for number, cells in sheet.rows():
            count += 1
            assert len(cells) == 4, (number, cells)
    print(count, tracemalloc.get_traced_memory()[1], strings)
    """
)


def _peak(tmp_path: Path, rows: int, kind: str) -> tuple[int, int, int]:
    script = tmp_path / "memory.py"
    script.write_text(MEMORY_SCRIPT.format(root=str(ROOT)))
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / f"m{rows}{kind}.xlsx"), str(rows), kind],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    count, peak, strings = map(int, result.stdout.split())
    assert count == rows
    return count, peak, strings


def test_memory_grows_with_the_longest_row_not_the_row_count(tmp_path):
    _, small, _ = _peak(tmp_path, 20_000, "inline")
    _, large, _ = _peak(tmp_path, 200_000, "inline")
    # Both read the same 1 MB chunks: 10× the rows, about the same peak.
    assert large < 16 * 1024 * 1024
    assert large < small * 1.5


def test_shared_strings_are_held_compactly(tmp_path):
    _, peak, strings = _peak(tmp_path, 100_000, "shared")
    # 100,000 distinct 13-character strings: ~1.3 MB of UTF-8 plus 0.8 MB of
    # offsets; a list of str would be ~7 MB by itself.
    assert strings < 2.5 * 1024 * 1024
    assert peak < strings + 16 * 1024 * 1024


def test_a_broken_zip_is_an_xlsx_error():
    with pytest.raises(stream.XlsxError):
        stream.open_sheet(io.BytesIO(b"PK\x03\x04 not really"))


def test_the_optout_import_reads_xlsx_through_the_same_shared_reader(tmp_path, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from optout.imports import ImportRejected, read_numbers

    rows = [[None], ["phoneNumber", "name"], ["+821012345678", "a"], [], [821012345679]]
    data = openpyxl_file(tmp_path / "o.xlsx", rows).read_bytes()
    for threshold in (10**12, 0):
        settings.XLSX_STREAM_BYTES = threshold
        with pytest.raises(ImportRejected, match=r"Row 1 of o\.xlsx has no phoneNumber column"):
            read_numbers(SimpleUploadedFile("o.xlsx", data))

    rows = rows[1:]
    data = openpyxl_file(tmp_path / "p.xlsx", rows).read_bytes()
    found = []
    for threshold in (10**12, 0):
        settings.XLSX_STREAM_BYTES = threshold
        found.append([(n.row, n.value) for n in read_numbers(SimpleUploadedFile("p.xlsx", data))])
    assert found[0] == found[1] == [(2, "+821012345678"), (4, "821012345679")]


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


texts = st.lists(
    st.sampled_from([*" \t\n\r&<>'\"_x0041D한😀ab", "_x000D_", "_x0020_", "&#13;"]), max_size=8
).map("".join)
numbers = st.one_of(
    st.integers(-(10**17), 10**17).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["", "1E+20", "007", "-0", ".5", "abc"]),
)


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(texts, texts, numbers, st.integers(0, 3), texts, st.sampled_from(["0", "1"])),
        min_size=1,
        max_size=12,
    ),
    style=st.sampled_from(["0", "1", "2", "3", "4"]),
)
def test_rows_of_one_shape_read_the_same(tmp_path, settings, rows, style):
    """Many rows of the same shape take the stream's row-template path."""
    cells = []
    for n, (plain, kept, number, index, formula_text, flag) in enumerate(rows, start=1):
        cells.append(
            f'<row r="{n}" spans="1:7"><c r="A{n}" t="inlineStr"><is><t>{_xml_text(plain)}</t>'
            f'</is></c><c r="B{n}" t="inlineStr"><is><t xml:space="preserve">{_xml_text(kept)}'
            f'</t></is></c><c r="C{n}" s="{style}"><v>{number}</v></c><c r="D{n}" t="s">'
            f'<v>{index}</v></c><c r="E{n}" t="str"><f>A{n}&amp;"x"</f><v>{_xml_text(formula_text)}'
            f'</v></c><c r="F{n}" t="b"><v>{flag}</v></c><c r="G{n}" s="1"/></row>'
        )
    path = xml_file(tmp_path / "shape.xlsx", "".join(cells), shared=SHARED, styles=STYLES)
    assert_same(path, settings)

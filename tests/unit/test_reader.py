from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sync.errors import InputError
from sync.reader import read_table


def write(tmp_path: Path, data: bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_rows_keep_their_numbers_and_text(tmp_path: Path):
    table = read_table(write(tmp_path, b"email,zip\na@x.com,007\n,\nb@x.com,1\n"))
    assert table.columns == ["email", "zip"]
    assert [r.number for r in table.rows] == [1, 2, 3]
    assert table.rows[0].values == {"email": "a@x.com", "zip": "007"}
    assert table.rows[1].values == {"email": None, "zip": None}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_byte_order_marks(tmp_path: Path, encoding: str):
    table = read_table(write(tmp_path, "email,name\na@x.com,Zoë\n".encode(encoding)))
    assert table.columns == ["email", "name"]
    assert table.rows[0].values["name"] == "Zoë"


def test_wrong_encoding_says_what_to_do(tmp_path: Path):
    path = write(tmp_path, "email,name\na@x.com,Zoë\n".encode("latin-1"))
    with pytest.raises(
        InputError, match=r"not valid utf-8 \(byte 0xeb on line 2\).*--encoding latin-1"
    ):
        read_table(path)
    assert read_table(path, encoding="latin-1").rows[0].values["name"] == "Zoë"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"email,\na@x.com,1\n", "blank column header"),
        (b"email,email\na,b\n", "header 'email' twice"),
        (b"email\na@x.com,extra\n", "more fields than the header"),
        (b"email\na\x00b\n", "NUL byte on line 2"),
    ],
)
def test_bad_files_stop_with_a_message(tmp_path: Path, data: bytes, message: str):
    with pytest.raises(InputError, match=message):
        read_table(write(tmp_path, data))


def test_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_parquet_cells_become_text(tmp_path: Path):
    path = tmp_path / "in.parquet"
    pl.DataFrame({"email": ["a@x.com", None], "n": [7, 8]}).write_parquet(path)
    table = read_table(path)
    assert table.rows[0].values == {"email": "a@x.com", "n": "7"}
    assert table.rows[1].values["email"] is None


def test_broken_parquet(tmp_path: Path):
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_table(write(tmp_path, b"PAR1 nonsense", "in.parquet"))


def test_same_bytes_same_hash(tmp_path: Path):
    a = read_table(write(tmp_path, b"email\na@x.com\n", "a.csv"))
    b = read_table(write(tmp_path, b"email\na@x.com\n", "b.csv"))
    c = read_table(write(tmp_path, b"email\nb@x.com\n", "c.csv"))
    assert a.content_hash == b.content_hash != c.content_hash

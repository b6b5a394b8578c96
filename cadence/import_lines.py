"""Reading import files in batches of Arrow rows ``(line_no, line)`` for DuckDB, with no Python loop over rows.

A JSON-lines file is read in blocks of bytes; numpy finds the newlines and the block becomes an Arrow
string array over the same bytes (the offsets are the newline positions), so a 250,000-line block costs
one scan in C rather than 250,000 Python strings. A Parquet file is read a row group at a time. The next
batch is read (and parsed, see importer.py) on a background thread while DuckDB stores the current
one (both release the GIL), and a bounded number of batches is held at once, so memory stays flat
however large the file is.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cadence.errors import CadenceError

T = TypeVar("T")
LINE_NO = "__cadence_line"  # the column of line numbers in a Parquet batch (a name no export uses)


def _lines(data: bytes, end: int, first: int) -> pa.Table:
    """The lines in ``data[:end]`` (each ending in a newline) as a table of (line_no, line) from ``first`` on."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8, count=end) == 10)
    offsets = np.zeros(len(ends) + 1, dtype=np.int64)
    offsets[1:] = ends + 1  # each line keeps its newline: JSON whitespace, as readlines() kept it
    lines = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        lines.validate(full=True)  # UTF-8 checked in C; DuckDB must never see invalid text
    except pa.ArrowInvalid:
        text = data[:end].decode("utf-8", errors="replace").split("\n")[:-1]
        lines = pa.array([t + "\n" for t in text], pa.large_string())
    return pa.table({"line_no": np.arange(first, first + len(lines), dtype=np.int64), "line": lines})


def jsonl_batches(path: Path, chunk_bytes: int) -> Iterator[pa.Table]:
    """The lines of ``path`` in batches of about ``chunk_bytes``; a line longer than that is one batch."""
    first = 1
    with path.open("rb") as handle:
        while data := handle.read(chunk_bytes):
            end = data.rfind(b"\n") + 1
            while end == 0:  # no newline yet: the line goes on (or the file ends without one)
                more = handle.read(chunk_bytes)
                data += more or b"\n"
                end = data.rfind(b"\n") + 1
            # Read the part line after the last newline again with the next block, rather than copy
            # the block to join the two.
            handle.seek(end - len(data), 1)
            batch = _lines(data, end, first)
            first += batch.num_rows
            yield batch


def parquet_batches(path: Path, rows: int) -> Iterator[pa.Table]:
    """The rows of a Parquet file in batches of ``rows``, each with its 1-based row number in ``LINE_NO``."""
    first = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
        table = pa.Table.from_batches([batch])
        yield table.append_column(LINE_NO, pa.array(np.arange(first, first + table.num_rows, dtype=np.int64)))
        first += table.num_rows


def ahead(items: Iterator[T], path: Path) -> Iterator[T]:
    """``items``, each made on a background thread while the caller works on the one before.

    At most one made item waits. An error while making them is raised here; a file that cannot be
    read is one ``CadenceError`` naming it.
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def make() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            else:
                ready.put(_DONE)
        except BaseException as exc:  # handed to the caller, who raises it
            ready.put(_Failed(exc))
        finally:
            close = getattr(items, "close", None)
            if close:
                close()  # a generator's own cleanup (its cursor, its file) runs on its thread

    maker = threading.Thread(target=make, name=f"cadence-import-{path.name}", daemon=True)
    maker.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, _Failed):
                raise _readable(path, item.error) from item.error
            yield item
    finally:
        stop.set()
        while maker.is_alive():  # empty the queue so the maker sees ``stop`` and ends
            try:
                ready.get(timeout=0.1)
            except queue.Empty:
                pass
        maker.join()


_DONE = object()


@dataclass
class _Failed:
    error: BaseException


def _readable(path: Path, exc: BaseException) -> BaseException:
    if isinstance(exc, OSError):
        return CadenceError(f"{path}: cannot read ({exc.strerror or exc})")
    if isinstance(exc, (pa.ArrowException, ValueError)):
        return CadenceError(f"{path}: not a readable Parquet file ({' '.join(str(exc).split())[:200]})")
    return exc

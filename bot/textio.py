"""Bytes in, UTF-8 out: where the command line meets stdin, its arguments and stdout.

Whatever bytes arrive (invalid UTF-8, a locale that is not UTF-8, lone surrogates from
JSON escapes), what newsbot reads is text with U+FFFD in place of what was not, and what it
writes is valid UTF-8, one line per line read. Parsing what a line says is the caller's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO


def clean(text: str) -> str:
    """Return `text` with undecodable bytes and lone surrogates replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = os.fsencode(text)  # arguments: bytes that were not UTF-8 come back as they were
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def read_lines(stream: BinaryIO) -> Iterator[str]:
    """Yield each line of a byte stream as text, without its line ending, decoded with replacement."""
    for raw in stream:
        yield raw.removesuffix(b"\n").removesuffix(b"\r").decode("utf-8", "replace")


def write_line(text: str, stream: BinaryIO) -> None:
    """Write one line of valid UTF-8 and flush it, so a reader sees each answer as it comes."""
    stream.write(clean(text).encode("utf-8") + b"\n")
    stream.flush()

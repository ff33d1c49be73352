"""Reading a file a user names: a UTF-16, binary or empty file is refused by name after its
first 64 KiB only (so `/dev/zero` is refused, not read forever)."""

from __future__ import annotations

from pathlib import Path

BINARY_PROBE_BYTES = 65_536


def read_text_bytes(path: Path, *, expected: str, converted_name: str = "data.txt") -> bytes:
    """The bytes of `path`, which should be UTF-8 text.

    Args:
        path: the file.
        expected: what it should hold, for the messages, e.g. "a file of
            `English<TAB>French` lines".
        converted_name: the output file named in the `iconv` hint for UTF-16 text.

    Raises:
        ValueError: UTF-16 text (with the command that converts it), NUL bytes in the first
            64 KiB (binary), or a file that is empty or only whitespace.
    """
    with open(path, "rb") as file:
        head = file.read(BINARY_PROBE_BYTES)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ValueError(
                f"'{path}' is UTF-16 text; convert it to UTF-8, e.g. "
                f"`iconv -f utf-16 -t utf-8 '{path}' > {converted_name}`."
            )
        if b"\x00" in head:
            raise ValueError(
                f"'{path}' looks binary (NUL bytes in its first {len(head):,} bytes); pass "
                f"{expected} in UTF-8."
            )
        data = head + file.read()
    if not data.strip():
        size = f"{len(data):,} bytes of whitespace" if data else "0 bytes"
        raise ValueError(f"'{path}' is empty ({size}); pass {expected}.")
    return data

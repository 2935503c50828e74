"""Is an input a landmark CSV or a video? Decided by its content and its name together.

A file's content says what it is (a text table, or binary data a video reader must judge); its name
says what the person meant. When they agree the answer is plain. When they disagree, kneefix says so
and stops instead of silently reading the file as the other kind: a landmark table renamed ``clip.mp4``
would otherwise be analysed as landmarks while the person believes a video was, and a video renamed
``.csv`` would fail with a CSV parser's complaint about binary data.

* A ``.csv`` file holding text is a landmark CSV (the reader then checks its columns).
* A ``.csv`` file holding binary data is refused: landmark CSVs are text.
* Any other name holding a text table (a first line with commas) is refused: landmark CSVs end in .csv.
* Anything else goes to the video reader, which names what it finds (text, an image, damage...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import filetype

from kneefix.errors import InputError

LANDMARK_SUFFIX = ".csv"
_SNIFF_BYTES = 4096


def _is_text_table(head: bytes) -> tuple[bool, bool]:
    """(is text, first line has commas) for the first bytes of a file."""
    if b"\x00" in head:
        return False, False
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut in two at the end of the sniff
            return False, False
        text = head[: error.start].decode("utf-8-sig")
    lines = text.splitlines()
    return True, bool(lines) and "," in lines[0]


def input_kind(path: Path) -> Literal["landmarks", "video"]:
    """``landmarks`` for a ``.csv`` text file, ``video`` for what the video reader should judge; an
    ``InputError`` when the name and the content disagree (see the module's docstring)."""
    if not path.exists():
        raise InputError(f"{path}: no such file.")
    if not path.is_file():
        raise InputError(f"{path}: is a folder, not a file.")
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    is_text, is_table = _is_text_table(head)
    suffix = path.suffix.lower()
    if suffix == LANDMARK_SUFFIX:
        if head and not is_text:
            kind = filetype.guess(head)
            what = f"a {kind.mime} file" if kind is not None else "binary data"
            raise InputError(
                f"{path.name}: this .csv file is not text (it holds {what}); landmark CSVs are text. "
                "If it is a video, give it its own extension (.mp4, .mov, .webm)."
            )
        return "landmarks"
    if is_table:
        named = f"this {suffix} file" if suffix else "this file (it has no extension)"
        raise InputError(
            f"{path.name}: {named} is text, not a video; its first line looks like a CSV header. "
            f"Landmark CSVs must end in .csv: rename it to {path.stem}.csv."
        )
    return "video"

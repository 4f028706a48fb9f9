"""The digest of a rubric that imports files, and the reader of an imported file's bytes
(shared by the import loader and the compiled-rubric cache)."""
from __future__ import annotations

import hashlib
import os
import stat


def combined_sha256(main: str, imported: list[str] | tuple[str, ...]) -> str:
    """The digest of a rubric and the files it imports. Without imports it is the sha256
    of the rubric file's bytes (`main`); with imports, the sha256 of the text made of
    one line per file, each its own sha256 in lowercase hex followed by `\\n`: the rubric
    first, then every imported file once, in the order the imports first reach it
    (depth first, in the order the `import` lines are written)."""
    if not imported:
        return main
    return hashlib.sha256("".join(f"{h}\n" for h in (main, *imported)).encode("ascii")).hexdigest()


def read_file(path: str) -> bytes:
    """The bytes of a regular file; raises OSError (FileNotFoundError, IsADirectoryError,
    or one saying the file is not a regular file) and opens nothing else: a device or a
    pipe is never read."""
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "is a directory", path)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(0, "not a regular file", path)
    with open(path, "rb") as f:
        return f.read()

"""Reading an input file the user named: a regular file, under a size bound, checked before reading.

Imports, predictions, metric files and backups all come through here, so `/dev/zero`, a FIFO, a
directory or a file larger than the bound is refused with a message naming the file, never read
until memory or the disk runs out.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


class FileProblem(ValueError):
    """The file as a whole cannot be read; reported on row 1 (or as a usage error).

    `where` names the part of the file the problem is in when that is more than the file itself
    (a workbook's sheet, as `book.xlsx[Sheet]`); None means the file as the user named it.
    """

    def __init__(self, message: str, where: str | None = None):
        super().__init__(message)
        self.where = where


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


def check_input_file(path: str | Path, max_bytes: int) -> int:
    """The size of a readable regular file no larger than `max_bytes`; FileProblem otherwise."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileProblem("no such file") from None
    except PermissionError:
        raise FileProblem("permission denied") from None
    except OSError as error:
        raise FileProblem(f"cannot read the file: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileProblem("this is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem("this is not a regular file (a device, a pipe or a socket)")
    if info.st_size > max_bytes:
        size, limit = _megabytes(info.st_size), _megabytes(max_bytes)
        if (
            size == limit
        ):  # just over the limit: whole megabytes would read "1 MB; the limit is 1 MB"
            size, limit = f"{info.st_size:,} bytes", f"{max_bytes:,} bytes"
        raise FileProblem(f"the file is {size}; the limit is {limit} — split it into smaller files")
    return info.st_size


def read_input_file(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of a regular file, refused (FileProblem) if it is anything else or too large.

    The size is checked before reading and again while reading, so a file that grows meanwhile
    cannot push past the bound.
    """
    check_input_file(path, max_bytes)
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise FileProblem(f"cannot read the file: {error.strerror or error}") from None
    if len(data) > max_bytes:
        raise FileProblem(f"the file is larger than {_megabytes(max_bytes)}")
    return data


def check_output_path(path: str | Path) -> Path:
    """The path a command may write to: not a directory, in a folder that exists and is writable.

    Checked before any work, so a bad `--out` is a usage error, not a traceback after the work.
    """
    path = Path(path)
    try:
        return _checked_output_path(path)
    except OSError as error:  # e.g. a path too long for the file system, a loop of links
        raise FileProblem(f"cannot write {path}: {error.strerror or error}") from None


def _checked_output_path(path: Path) -> Path:
    if path.is_dir():
        raise FileProblem(f"{path} is a directory: name a file to write")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileProblem(f"the folder {folder} does not exist: create it first")
    if not os.access(folder, os.W_OK):
        raise FileProblem(f"the folder {folder} is not writable")
    name_max = _longest_name(folder)
    if len(os.fsencode(path.name)) > name_max:
        raise FileProblem(
            f"the file name {path.name[:20]}… is too long: at most {name_max} bytes here"
        )
    if path.exists() and not path.is_file():
        raise FileProblem(f"{path} is not a regular file")
    return path


def _longest_name(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def write_output_file(path: str | Path, data: bytes) -> None:
    """Write all of `data` to `path` or nothing: a temporary file beside it, then a rename."""
    path = check_output_path(path)
    try:
        handle = tempfile.NamedTemporaryFile(  # a short name: the user's may be near the limit
            dir=path.parent if str(path.parent) else ".",
            prefix=".aims-",
            suffix=".part",
            delete=False,
        )
    except OSError as error:
        raise FileProblem(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with handle:
            handle.write(data)
        os.replace(handle.name, path)
    except BaseException as error:
        Path(handle.name).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise FileProblem(f"cannot write {path}: {error.strerror or error}") from None
        raise

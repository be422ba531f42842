"""Writing what a command produces, without ever destroying a file the user did not name for it.

One home for every write (reports, pictures, baselines, applied plans), so that every command keeps
the same promises (README, "Reliability"):

- an output that is one of the command's inputs (the same file after following links: same
  device and inode) is refused, whatever the flags;
- an existing regular file is replaced only with `--force`, checked before any work (`claim`) and
  again at write time: a file that appears meanwhile is not overwritten (the new file is linked
  into place, which fails when the name exists);
- a regular file is written through a temporary file beside it and renamed into place, so a
  reader sees the old or the new content, never half of it; a replaced file keeps its mode;
- a symbolic link is followed: its target is replaced, the link stays;
- a pipe or a character device (`/dev/null`, `/dev/stdout`) is written through, never replaced,
  and `-` is standard output;
- the temporary file is named `.NAME.dpmsmt-tmp-PID`, removed on every exit path that runs
  (errors, Ctrl-C, SIGTERM, SIGHUP); one left by a killed run (its PID gone) is removed by the
  next write to the same name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import sys
import threading
from collections.abc import Iterator, Sequence

__all__ = ["TEMP_MARK", "OutputError", "Outputs", "Terminated"]

TEMP_MARK = ".dpmsmt-tmp-"
_NO_HARD_LINKS = {
    errno.EPERM,
    errno.ENOTSUP,
    errno.EOPNOTSUPP,
    errno.EXDEV,
    errno.EMLINK,
    errno.ENOSYS,
}
_WRITE_THROUGH = {stat.S_IFIFO: "a pipe", stat.S_IFCHR: "a character device"}


class OutputError(Exception):
    """An output that cannot or may not be written (the CLI prints it, exit code 2)."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived while a temporary file existed: it is removed, then we exit."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of what `path` names after following links; None when nothing is there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


class Outputs:
    """The files one command writes, checked against the files it reads."""

    def __init__(
        self,
        inputs: Sequence[str | None],
        *,
        force: bool,
        updates: dict[str, str | None] | None = None,
    ):
        """`updates`: option -> the input it may replace (`--write-baseline` the `--baseline`
        file: updating a baseline in place), still only with `force`."""
        self.inputs = [p for p in inputs if p and p != "-"]
        self.force = force
        self.updates = updates or {}
        self._claimed: dict[str, str] = {}  # resolved path -> the path as the user gave it

    def _input_named_by(self, path: str, option: str) -> str | None:
        ident = _identity(path)
        if ident is None:
            return None
        updated = self.updates.get(option)
        if updated and _identity(updated) == ident:
            return None
        return next((i for i in self.inputs if _identity(i) == ident), None)

    def claim(self, path: str, option: str = "--output") -> None:
        """Refuse, before any work, an output that would destroy a file or cannot be written."""
        key = "-" if path == "-" else os.path.normcase(os.path.realpath(path))
        if key in self._claimed:
            raise OutputError(f"{path} is named twice as an output ({option})")
        self._claimed[key] = path
        if path == "-":
            return
        self._refuse_unsafe(path, option, when="")

    def _refuse_unsafe(self, path: str, option: str, *, when: str) -> os.stat_result | None:
        """The target's stat (None when absent) after the checks both claim and write make."""
        same = self._input_named_by(path, option)
        if same is not None:
            what = "is the input" if same == path else f"is the same file as the input {same}"
            raise OutputError(
                f"{option} {path} {what}: dpmsmt never writes over a file it reads; "
                "choose another output"
            )
        real = os.path.realpath(path)
        try:
            st = os.stat(real)
        except FileNotFoundError:
            folder = os.path.dirname(real) or "."
            if not os.path.isdir(folder):
                raise OutputError(f"{option} {path}: the folder {folder} does not exist") from None
            return None
        except OSError as e:
            raise OutputError(f"{option} {path}: cannot write: {e.strerror}") from None
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFREG:
            if not self.force:
                raise OutputError(f"{option} {path} exists{when}; use --force to replace it")
            return st
        if kind in _WRITE_THROUGH:
            return st
        what = "a folder" if kind == stat.S_IFDIR else "not a regular file, pipe or device"
        raise OutputError(f"{option} {path} is {what}; cannot write a report there")

    def write(self, path: str, text: str, option: str = "--output") -> None:
        """Write `text` to `path` under the promises of this module."""
        if path == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        st = self._refuse_unsafe(path, option, when=" (it appeared while dpmsmt was working)")
        real = os.path.realpath(path)
        data = text.encode("utf-8")
        try:
            if st is not None and stat.S_IFMT(st.st_mode) in _WRITE_THROUGH:
                _write_through(real, data)
            else:
                _write_replacing(real, data, st)
        except FileExistsError:
            raise OutputError(
                f"{option} {path} exists (it appeared while dpmsmt was working); "
                "use --force to replace it"
            ) from None
        except OSError as e:
            raise OutputError(f"{option} {path}: cannot write: {e.strerror}") from None


def _write_through(path: str, data: bytes) -> None:
    """Write into a pipe or a device as it is (replacing one would break who reads it)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _write_replacing(path: str, data: bytes, old: os.stat_result | None) -> None:
    """Write a regular file atomically: a temporary file beside it, then into place. With `old`
    (the file is being replaced, --force) rename over it keeping its mode; without, link the
    temporary file to the name, which fails if the name has appeared since it was checked."""
    folder, name = os.path.split(path)
    folder = folder or "."
    _remove_stale_temporaries(folder, name)
    tmp = os.path.join(folder, f".{name}{TEMP_MARK}{os.getpid()}")
    with _signals_raise():
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            if old is not None:
                os.chmod(tmp, stat.S_IMODE(old.st_mode))
                with contextlib.suppress(OSError):  # keep the owner where we may (root)
                    if hasattr(os, "chown") and (old.st_uid, old.st_gid) != _owner(tmp):
                        os.chown(tmp, old.st_uid, old.st_gid)
                os.replace(tmp, path)
            else:
                os.chmod(tmp, 0o666 & ~_umask())
                _link_exclusively(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _link_exclusively(tmp: str, path: str) -> None:
    """Give `tmp`'s content the name `path` only if `path` does not exist (FileExistsError)."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise
    except OSError as e:  # a file system without hard links: claim the name, then rename
        if e.errno not in _NO_HARD_LINKS:
            raise
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    os.replace(tmp, path)


def _owner(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return (st.st_uid, st.st_gid)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Remove `.NAME.dpmsmt-tmp-PID` files whose process is gone (a run killed mid-write)."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return
    prefix = f".{name}{TEMP_MARK}"
    try:
        entries = [e for e in os.listdir(folder) if e.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        pid = entry[len(prefix) :]
        if pid.isascii() and pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, entry))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of an earlier process that had our number
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """While a temporary file exists, SIGTERM and SIGHUP raise `Terminated` (so `finally`
    removes it) instead of ending the process on the spot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {}

    def handler(signum, _frame):
        raise Terminated(signum)

    for signum in wanted:
        with contextlib.suppress(OSError, ValueError):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)

"""Writing files so that no reader and no crash ever sees half of one: :func:`write_atomic`,
one writer per output (:class:`OutputLock`), Ctrl-C held while a file is saved (:class:`InterruptGuard`)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from deltaprop.errors import UserError

try:
    import fcntl
except ImportError:  # not POSIX: no advisory locks, a second writer is not detected
    fcntl = None  # type: ignore[assignment]

__all__ = ["write_atomic", "remove_stale_temps", "pid_alive", "output_target", "OutputLock",
           "InterruptGuard", "hold_interrupts", "check_distinct"]


def pid_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` exists (one owned by another user counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass  # another user's process
    return True


def remove_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files of writes to ``path`` whose writer no longer runs; returns them."""
    path = Path(path)
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d+)\.[A-Za-z0-9_]+\.tmp")
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for name in os.listdir(path.parent):
            match = pattern.fullmatch(name)
            if match is not None and not pid_alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(path.parent / name)
                    removed.append(path.parent / name)
    return removed


def output_target(path: str | os.PathLike[str]) -> Path:
    """The file an output at ``path`` replaces (a symbolic link followed), checked to be a file
    in an existing directory; UserError otherwise.

    The one home of: a trailing slash means a directory, as it does to the shell (``newdir/``
    never becomes a file named ``newdir``)."""
    text = os.fspath(path)
    if text.endswith(("/", os.sep)):
        where = "is a directory" if os.path.isdir(text) else "names a directory that does not exist"
        raise UserError(f"{text} {where}; give a file name for the output, such as {text}model.dpm")
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise UserError(f"{target} is a directory; give a file name for the model")
    if not target.parent.is_dir():
        raise UserError(f"the directory {target.parent} does not exist; create it or choose another path")
    return target


def _mode(path: Path) -> int:
    """An existing file's permissions, or a new file's under the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` all at once: a temporary file beside it (``.<name>.<pid>.<random>.tmp``,
    removed by the next write if its writer was killed), fsync, ``os.replace``.

    On any failure (including KeyboardInterrupt) the temporary file is removed and ``path``
    is as it was.  A symbolic link at ``path`` is followed.  Raises UserError (one line) when
    the directory cannot be written.
    """
    target = output_target(path)
    remove_stale_temps(target)
    mode = _mode(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise UserError(f"cannot write in {target.parent}: {e.strerror or e}; choose another path") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise UserError(
                f"cannot write {target}: {e.strerror or e}; free space or choose another path"
            ) from e
        raise
    # not every file system can sync a directory; the rename itself is atomic
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _identity(path: str | os.PathLike[str]) -> tuple:
    """(device, inode) of an existing file, else its resolved path."""
    try:
        st = os.stat(path)
    except OSError:
        return ("path", os.path.realpath(path))
    return ("file", st.st_dev, st.st_ino)


def check_distinct(
    writes: dict[str, str | os.PathLike[str] | None],
    reads: dict[str, Any] | None = None,
) -> None:
    """Refuse, before any work, an output that is an input or another output.

    ``writes`` maps what each output is called (``"--out"``, ``"--report"``) to its path;
    ``reads`` maps what each input is called to a path or a list of paths (every file a glob
    matched).  Paths are compared by file identity, not by spelling.  Raises UserError (one
    line) naming both.
    """
    seen: dict[tuple, str] = {}
    for name, value in (reads or {}).items():
        paths = [value] if isinstance(value, (str, os.PathLike)) else list(value or ())
        for path in paths:
            seen.setdefault(_identity(path), f"{name} {os.fspath(path)}")
    for name, path in writes.items():
        if path is None:
            continue
        key = _identity(path)
        if key in seen:
            raise UserError(
                f"{name} {os.fspath(path)} is the same file as {seen[key]}; "
                f"choose another path for {name} so that nothing is overwritten"
            )
        seen[key] = f"{name} {os.fspath(path)}"


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class OutputLock:
    """Hold ``.<name>.lock`` beside ``path`` for as long as one process writes ``path``.

    The lock file holds the writer's pid, so a second writer is told which process holds the
    path.  ``flock`` is released by the kernel when its process dies, so a lock file left by a
    killed run is simply taken over.  Used as a context manager; entering raises UserError
    when another live process holds the path.
    """

    def __init__(self, path: str | os.PathLike[str], what: str = "output") -> None:
        target = Path(os.path.realpath(path))
        self.path = target.parent / f".{target.name}.lock"
        self.target = Path(path)
        self.what = what
        self._fd: int | None = None

    def _holder(self) -> str:
        with contextlib.suppress(OSError):
            text = self.path.read_text(encoding="ascii", errors="replace").strip()
            if text.isdigit():
                return f"process {text}"
        return "another process"

    def _not_plain(self, why: str) -> UserError:
        return UserError(f"cannot lock {self.target}: {self.path} is not a plain lock file{why}; "
                         "remove it or choose another path")

    def acquire(self) -> None:
        """Take the lock or raise UserError naming the process that holds it."""
        if fcntl is None:
            return
        while True:
            try:
                # never through a symbolic link planted at the lock's name: it would truncate
                # whatever file the link points at
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
            except OSError as e:
                raise self._not_plain(f" ({e.strerror or e})") from e
            st = os.fstat(fd)
            # a device, a FIFO or a hard link to a file of the user's would be truncated
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                os.close(fd)
                raise self._not_plain("")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise UserError(
                    f"{self.target} is being written by another deltaprop run ({self._holder()}); "
                    f"wait for it to finish or choose another {self.what}"
                ) from None
            # the holder before us may have removed the file after we opened it: lock the live one
            with contextlib.suppress(FileNotFoundError):
                if os.path.samestat(os.fstat(fd), os.stat(self.path)):
                    break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        # removal first, so that no one locks a dead file
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


class InterruptGuard:
    """Ctrl-C (SIGINT) handling for a run whose result must be saved.

    Inside ``with InterruptGuard() as guard:`` the first Ctrl-C raises KeyboardInterrupt
    (training stops and the caller saves the best model); every later press is held, never
    raised, until the guard is left.  Inside ``with guard.saving():`` even the first press is
    held until the file is written, then raised.  ``presses`` counts them.  Outside the main
    thread (where Python cannot install signal handlers) the guard does nothing.
    """

    def __init__(self) -> None:
        self.presses = 0
        self.raised = False
        self._saving = 0
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.presses += 1
        if self.raised or self._saving:
            return
        self.raised = True
        raise KeyboardInterrupt

    def __enter__(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
            _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            _ACTIVE.remove(self)
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    @contextlib.contextmanager
    def saving(self) -> Iterator[None]:
        """Hold Ctrl-C until the block is done; a press held here is raised after it."""
        self._saving += 1
        try:
            yield
        finally:
            self._saving -= 1
        if not self._saving and self.presses and not self.raised:
            self.raised = True
            raise KeyboardInterrupt


#: the guards entered in the main thread, innermost last
_ACTIVE: list[InterruptGuard] = []


@contextlib.contextmanager
def hold_interrupts() -> Iterator[None]:
    """Hold Ctrl-C while the block runs (a file being saved), then raise a press held there.

    Within an :class:`InterruptGuard` this is its :meth:`~InterruptGuard.saving` (a run that
    was already interrupted raises nothing more); elsewhere a guard of its own is entered.
    """
    if _ACTIVE:
        with _ACTIVE[-1].saving():
            yield
        return
    with InterruptGuard() as guard, guard.saving():
        yield

"""The ``deltaprop`` command's entry point: the command where its dependencies are installed,
else one line that says how to install them.

The library needs numpy, scipy, scikit-learn and numba; the command and its report add
click, rich and pandas (the ``cli`` extra).  ``pip install deltaprop`` brings the
library alone, so the command checks for its extra before it imports any of it.
"""

from __future__ import annotations

import importlib.util
import sys

from deltaprop.errors import EXIT_INTERRUPTED, EXIT_USER

#: what the command cannot start without (pyarrow, also in the extra, is needed for Parquet only)
CLI_MODULES = ("click", "rich", "pandas")


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken install, or an import hook that refuses it
        return False


def missing_modules() -> list[str]:
    """The modules of the ``cli`` extra that cannot be imported here."""
    return [name for name in CLI_MODULES if not _importable(name)]


def main(args=None, prog_name: str = "deltaprop"):
    """Run the command; without the ``cli`` extra, say how to install it and exit with status 2."""
    missing = missing_modules()
    if missing:
        print(f"error: the deltaprop command needs {', '.join(missing)}, which this environment lacks; "
              f"install the command with: pip install 'deltaprop[cli]'", file=sys.stderr)
        sys.exit(EXIT_USER)
    try:  # Ctrl-C while the command's modules load: one line, never a traceback
        from deltaprop.command.main import main as command
    except KeyboardInterrupt:
        print("interrupted before anything started; nothing was read or written", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    return command(args=args, prog_name=prog_name)

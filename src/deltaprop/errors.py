"""Errors that are the user's to fix.

The command catches :class:`UserError` and prints its message as one line on stderr with exit
status 2; a message names the problem and the fix.
"""

import os

__all__ = ["UserError", "EXIT_USER", "EXIT_INTERRUPTED", "debug_requested"]

#: the command's exit status for a UserError, and for a run stopped by Ctrl-C (128 + SIGINT)
EXIT_USER = 2
EXIT_INTERRUPTED = 130


class UserError(ValueError):
    """A mistake in the user's input (a file, a column, an option), with the fix in the message."""


def debug_requested(argv: list[str]) -> bool:
    """Whether the command shows tracebacks (and a cluster's worker logs): ``--debug`` among
    its arguments, or ``DELTAPROP_DEBUG`` set to anything but 0."""
    return "--debug" in argv or os.environ.get("DELTAPROP_DEBUG", "") not in ("", "0")

"""The ``deltaprop`` command (also ``python -m deltaprop``).

    deltaprop train DATA --target COL [COL …]   train a model on a CSV/Parquet file
    deltaprop predict MODEL DATA [--out FILE]    predictions, in the input's row order
    deltaprop evaluate MODEL DATA [--json]       metrics on labelled data
    deltaprop info MODEL                         architecture, features, training summary
    deltaprop explain …                          the derivation of one weight's gradient
    deltaprop export MODEL --to onnx [--out F]   an ONNX graph, preprocessing included
    deltaprop demo                               the worked 4-5-3 network of docs/derivation.md

Errors are one line on stderr (``--debug``: the traceback; docs/command.rst).  Heavy imports
happen inside the commands that need them, so ``deltaprop --help`` stays quick.
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from typing import Any, NoReturn

import click

from deltaprop import __version__
from deltaprop.errors import EXIT_INTERRUPTED, EXIT_USER, UserError, debug_requested

DEBUG_HELP = "Show tracebacks instead of one-line errors."
#: commands imported only when they run (their modules import numpy and more): the name, its
#: module and attribute, and its line in ``deltaprop --help``
LAZY_COMMANDS = {
    "explain": ("deltaprop.command.explain", "explain",
                "Derive dE/dw for one weight of a saved MODEL, step by step, with numbers and checks."),
    "export": ("deltaprop.command.export", "export",
               "Write MODEL as an ONNX graph that runs without deltaprop (preprocessing included)."),
}


def _one_line(message: object) -> str:
    from deltaprop.command.text import printable  # a message may quote a file's text

    return printable(" ".join(str(message).split()))


def _usage_message(e: click.UsageError) -> str:
    path = e.ctx.command_path if e.ctx is not None else "deltaprop"
    message = _one_line(e.format_message()).rstrip(".")
    if (isinstance(e, click.MissingParameter) and e.param is not None and e.param.name == "data"
            and e.ctx is not None and e.ctx.params.get("targets")):
        # `train --target y data.csv`: --target took data.csv as a second target
        message += ("; --target takes every word after it, so put DATA first: deltaprop train DATA "
                    "--target COL")
    return f"error: {message[:1].lower() + message[1:]}; see '{path} --help'"


def _failure(e: BaseException) -> tuple[str | None, int]:
    """(the line to print on stderr, the exit status) for an exception that ends a command."""
    if isinstance(e, click.UsageError):
        return _usage_message(e), EXIT_USER
    if isinstance(e, click.ClickException):
        return f"error: {_one_line(e.format_message())}", e.exit_code
    if isinstance(e, (click.exceptions.Abort, KeyboardInterrupt)):
        return "interrupted", EXIT_INTERRUPTED
    if isinstance(e, UserError):
        return f"error: {_one_line(e)}", EXIT_USER
    if isinstance(e, MemoryError):
        return ("error: out of memory; use fewer rows, fewer or smaller --hidden layers, or a smaller "
                "--batch-size", EXIT_USER)
    if isinstance(e, BrokenPipeError):
        # the reader of our stdout went away (e.g. `| head`): not an error of ours
        with suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return None, 0
    # a bug of ours: say so in one line, traceback with --debug
    return (f"error: internal error ({type(e).__name__}: {_one_line(e)}); rerun with --debug for the "
            f"traceback and report it", 1)


class _Group(click.Group):
    """A click group whose errors are one line on stderr (tracebacks only with --debug)."""

    def main(self, args: list[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> NoReturn:
        argv = list(sys.argv[1:] if args is None else args)
        debug = debug_requested(argv)
        try:
            rv = super().main(argv, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                              **extra)
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except (Exception, KeyboardInterrupt) as e:
            if debug and not isinstance(e, BrokenPipeError):
                raise
            line, status = _failure(e)
            if line is not None:
                click.echo(line, err=True)
            sys.exit(status)
        sys.exit(rv if isinstance(rv, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A command; one of LAZY_COMMANDS is imported when it is asked for, not before."""
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            from importlib import import_module

            module, attribute, _ = LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(import_module(module), attribute), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of --help, without importing the lazy commands for their help."""
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        # the same lines whether a lazy one was imported or not
        rows = [(name, LAZY_COMMANDS[name][2] if name in LAZY_COMMANDS else
                 self.commands[name].get_short_help_str(limit)) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Every subcommand takes --debug (read by :meth:`main` before the command runs)."""
        if not any(p.name == "debug" for p in cmd.params):
            cmd.params.append(click.Option(["--debug"], is_flag=True, expose_value=False, help=DEBUG_HELP))
        super().add_command(cmd, name)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "-V", "--version", prog_name="deltaprop")
def main() -> None:
    """Multilayer perceptrons trained by backpropagation: train, predict, explain.

    Start with:  deltaprop train data.csv --target y
    """


from deltaprop.command.commands import evaluate, info, predict, train  # noqa: E402  (they join the group)

for _command in (train, predict, evaluate, info):
    main.add_command(_command)


@main.command(short_help="Train the worked 4-5-3 network of docs/derivation.md; check its gradient formulas.")
def demo() -> None:
    """Train the worked 4-5-3 network of the derivation in docs/derivation.md, and check its two
    gradient formulas against backpropagation and finite differences."""
    from deltaprop.command.demo import main as run_demo

    run_demo()

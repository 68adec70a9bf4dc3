"""The ``deltaprop`` command (also ``python -m deltaprop``)."""

from __future__ import annotations

import click

from . import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deltaprop")
def main():
    """Multilayer perceptrons trained by backpropagation: train, predict, explain."""


@main.command()
def demo():
    """Train the seed's network and check its two gradient formulas."""
    from .demo import main as run_demo

    run_demo()

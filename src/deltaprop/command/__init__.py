"""The ``deltaprop`` command, one module per subcommand."""

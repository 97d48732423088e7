"""The command line's subcommands, one module per capability; ``cli.py`` assembles them.

Each module has ``register(sub)``, which adds its parsers to argparse's subparsers ``sub``, and
thin ``cmd_*`` functions that call ``services``. A new capability adds a module and one entry
in ``cli.COMMANDS``.
"""

"""What every command module shares: the argparse adapter for ``services.arguments`` parsers, the
service a command works on, and how problems are printed."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from geo.errors import InputError, Problem
from services import imports
from services.hgwatch import HgWatch


def typed(parse: Callable[..., Any], **options: Any) -> Callable[[str], Any]:
    """An argparse ``type=`` from a ``services.arguments`` parser: its InputError becomes
    argparse's own refusal (exit 2, the usage line, the flag and the message)."""
    flag = f"{options.get('flag', '')} "

    def convert(text: str) -> Any:
        try:
            return parse(text, **options)
        except InputError as exc:  # argparse names the flag itself: "argument --cell-m: ..."
            raise argparse.ArgumentTypeError(exc.message.removeprefix(flag)) from None
    return convert


def service(args: argparse.Namespace, **paths: str | None) -> HgWatch:
    """The service of ``--database-url`` or ``--workspace`` (else $HGWATCH_DATABASE_URL,
    $HGWATCH_WORKSPACE or the demo) and ``paths``."""
    return HgWatch.from_env(workspace=args.workspace, database_url=args.database_url, **paths)


def print_problems(problems: Sequence[Problem], stream: TextIO | None = None) -> None:
    """Print problems grouped by severity, then by kind, each on one line (stderr by default)."""
    for line in imports.problem_lines(problems):
        print(line, file=stream or sys.stderr)

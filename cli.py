"""HgWatch command line: assembles the subcommands of ``commands/`` and runs one.

Run ``python cli.py --help``. Exit codes: 0 success, 1 the input has errors (validate),
2 refusal (bad arguments, unreadable file, a file with errors that was not imported).
User errors print their reasons on stderr, never a traceback. Every output path is checked
before anything is computed or recorded, and a refused command writes nothing.
"""
from __future__ import annotations

import os
import signal

if __name__ == "__main__" and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    def _interrupted_at_start(_signum: int, _frame: object) -> None:
        """Ctrl-C while the modules below load: nothing is open or written yet, so the process ends
        at once with ``INTERRUPTED``'s line, not a KeyboardInterrupt inside some import."""
        os.write(2, b"hgwatch: interrupted; the workspace is unchanged\n")
        os._exit(130)
    signal.signal(signal.SIGINT, _interrupted_at_start)  # main() puts Python's own back to run the command

if __name__ == "__main__":  # check's GeoParquet files are read on a side thread while the modules below load
    import sys

    from layers.io import prefetch
    prefetch.start(prefetch.check_files(sys.argv[1:]))

import argparse  # after the handler: Ctrl-C while these load ends with its line, no traceback
import atexit
import gc
import importlib
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

if __name__ == "__main__":  # run as a program: the ~90,000 objects the imports below make are never garbage,
    gc.disable()  # so no collection walks them while they pile up (0.07 s of 0.65 s); frozen, then enabled, below

from commands.common import service
from geo.errors import HgWatchError, InputError
from geo.words import one_of
from services import arguments, audit

INTERRUPTED = "hgwatch: interrupted; the workspace is unchanged"  # Ctrl-C's line (exit 130), as at start-up

# Flags whose value may start with a minus sign ("--bbox -2.5,5,-1.5,6", "--accuracy-m -inf"):
# argparse would take such a value for an option, so it is glued on as "--bbox=-2.5,...".
SIGNED = ("--bbox", "--accuracy-m", "--cell-m", "--max-distance-m")

# Each capability adds its subcommands: a module of ``commands/`` whose ``register`` adds its parsers,
# named with the subcommands it adds (in --help's order). A run loads its subcommand's module only, not
# the others' (issue 13: start-up time the run has no use for); --help, or no or an unknown subcommand,
# loads them all.
COMMANDS: dict[str, tuple[str, ...]] = {
    "commands.files": ("import", "validate", "layers", "export", "share"), "commands.rules": ("check", "diff"),
    "commands.surface": ("surface",), "commands.inventory": ("report",), "commands.db": ("db",),
    "commands.audit": ("audit",), "commands.users": ("users",), "commands.keys": ("keys",),
    "commands.serve": ("serve",), "commands.cases": ("cases",), "commands.dossier": ("dossier",),
    "commands.fieldpack": ("fieldpack",), "commands.submissions": ("submissions",), "commands.tiles": ("tiles",)}
VALUED = ("--workspace", "--database-url", "--as")  # the options before the subcommand that take a value


def _identity(args: argparse.Namespace) -> Any:
    """Who the command acts as: ``--as NAME``'s account, else an analyst ``cli:<OS user>``; a role
    that may not import or use the chosen export profile is refused here (exit 2)."""
    from services import auth

    if not args.as_name:
        return auth.cli_identity()
    who = auth.identity_of(service(args).store, args.as_name)
    if args.command in ("import", "share") and not who.rights.may_import:
        raise InputError(f"--as {args.as_name!r}: role {who.role!r} may not change the workspace ({args.command})")
    profile = getattr(args, "profile", None)
    if profile is not None and profile not in auth.profiles_for(who):
        raise InputError(f"--as {args.as_name!r}: role {who.role!r} may not export under profile {profile!r};"
                         f" expected {one_of(auth.profiles_for(who))}")
    return who


def _subcommand(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is neither an option nor the value of one
    of ``VALUED`` (given whole or, as argparse allows, by a prefix: ``--work PATH``)."""
    words = iter(argv)
    for word in words:
        if word == "--":  # argparse takes it for the subcommand, and refuses it
            return None
        if word.startswith("-"):
            if word.startswith("--") and len(word) > 2 and "=" not in word and any(o.startswith(word) for o in VALUED):
                next(words, None)  # its value
            continue
        return word
    return None


def command_modules(argv: Sequence[str] | None = None) -> list[ModuleType]:
    """The modules of ``commands/`` whose parsers ``argv`` needs: its subcommand's, else every one."""
    named = None if argv is None else _subcommand(argv)
    return [importlib.import_module(m) for m in
            [m for m, subcommands in COMMANDS.items() if named in subcommands] or COMMANDS]


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser for ``argv``: with its subcommand's parsers (see ``COMMANDS``), with
    every subcommand's when ``argv`` is None or names none (or none that exists)."""
    parser = argparse.ArgumentParser(
        prog="hgwatch", description="HgWatch: mercury in artisanal gold mining, checked against exact geodesic rules.")
    parser.add_argument("--workspace", help="workspace GeoPackage (default: $HGWATCH_WORKSPACE or the demo)")
    parser.add_argument("--database-url", metavar="URL",
                        help="PostGIS store instead of the GeoPackage, postgresql://USER:PASSWORD@HOST/DB"
                             " (default: $HGWATCH_DATABASE_URL)")
    parser.add_argument("--as", dest="as_name", metavar="NAME",
                        help="act as this account, with its role (default: an analyst, recorded as cli:<OS user>)")
    modules = command_modules(argv)
    every = [name for subcommands in COMMANDS.values() for name in subcommands]
    sub = parser.add_subparsers(  # the usage line of an error names every subcommand, as the whole parser's
        dest="command", required=True, metavar=None if len(modules) == len(COMMANDS) else f"{{{','.join(every)}}}")
    for module in modules:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, end_process: bool = False) -> int:
    """Parse ``argv`` and run the subcommand; user errors become messages and exit code 2.

    ``end_process`` (``cli.py`` run as a program): end the process as soon as the command is done,
    with what it made still held (see ``_end_now``); the exit code is returned only when it cannot.

    Ctrl-C at any point prints one line and gives 130: the command's ``with`` blocks have undone
    what it began (a transaction rolled back, a staging or temporary output file removed). Once the
    command is done, Ctrl-C is ignored while the process ends (it would interrupt the exit handlers)."""
    if end_process and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # the start-up handler: from here
        signal.signal(signal.SIGINT, signal.default_int_handler)  # KeyboardInterrupt unwinds the command
    try:
        code = _run(argv, end_process=end_process)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        code = 130
    if end_process:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code


def _run(argv: Sequence[str] | None, *, end_process: bool) -> int:
    """``main`` without its Ctrl-C handling."""
    words = arguments.glue_signed(sys.argv[1:] if argv is None else argv, SIGNED)
    args = build_parser(words).parse_args(words)
    try:
        args.identity = _identity(args)
        args.ends_process = end_process  # a command may then leave what it made unfreed (see _end_now)
        with audit.acting_as(args.identity.name):  # who the audit trail names
            code = int(args.func(args))
    except HgWatchError as exc:
        print(f"hgwatch: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the system refused a read or write the checks could not foresee
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"hgwatch: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    if end_process:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # done: a Ctrl-C now would only break the exit
        _end_now(code)  # ``args`` (and what a command left on it) is still held here
    return code


class _PipeSafe:
    """A text stream that, once its reader has gone (``cli.py check --out v.csv | head``), writes to
    ``os.devnull`` instead: the command goes on and finishes its work (its output file, its recorded
    run), only the text nobody reads is dropped. Anything else is the wrapped stream's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            self._gone()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._gone()

    def _gone(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())  # what is still buffered goes there
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _end_now(code: int) -> None:
    """Exit with ``code`` at once: the output flushed and the ``atexit`` handlers run, but no object
    freed one by one and no module torn down, which is all a normal exit would add (issue 13: a check
    of 1e6 sites spent ~0.3 s CPU freeing its layers, results and modules). Returns, leaving the normal
    exit to the caller, while another thread still runs (it would be cut off) or the output cannot be
    flushed (the normal exit reports that). Skipped too: C-level exit handlers and the finalizers of
    objects still alive, so a command must have closed what it wrote (files, GDAL datasets,
    transactions) before it returns, as every command here does (``with`` blocks)."""
    if threading.active_count() > 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    atexit._run_exitfuncs()
    try:  # a handler may have printed
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


if __name__ == "__main__":
    command_modules(sys.argv[1:])  # the command's own modules load here too: under the start-up handler, uncollected
    # The ~90,000 objects of the modules just imported are never garbage: frozen, every full collection
    # skips them (an import of 1e6 points ran nine, 0.5 s of the 8 s, each walking them again).
    gc.freeze()
    gc.enable()
    sys.stdout, sys.stderr = _PipeSafe(sys.stdout), _PipeSafe(sys.stderr)
    sys.exit(main(end_process=True))

"""The README's command lines are ones ``cli.py`` accepts.

Every command the README shows (its Command line table, every ``cli.py ...`` line of its code blocks,
every inline ``cli.py ...`` and every inline ``COMMAND ... --flag`` span) is resolved against the parser
``cli.build_parser`` assembles from ``cli.COMMANDS``: each (sub)command must exist, each ``--flag`` must
be one that command (or, before the command, ``cli.py`` itself) takes, and a value shown for a flag or a
positional with fixed choices (``--profile internal/partner/public``, ``users set-role kofi partner``)
must be among them. Every command ``cli.py`` has must be shown at least once, every flag it takes named
somewhere in the README, and every ``make X`` is a target of the Makefile. No subprocess: the parser is built once.
"""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

import pytest

import cli
from tests.conftest import ROOT

README = ROOT / "README.md"
HELP = ("-h", "--help")


@dataclass(frozen=True)
class Shown:
    """One command line as the README shows it: its line number and the words after ``cli.py``."""

    line: int
    text: str


def _words(text: str) -> list[str]:
    """The words of a shown command, brackets and ellipses dropped, ``--flag=value`` split."""
    words: list[str] = []
    for raw in text.split():
        word = raw.strip("[]()`,;")
        if not word or word.startswith("...") or word == "|" or word.startswith("#"):
            continue
        if word.startswith("--") and "=" in word:
            flag, value = word.split("=", 1)
            words += [flag, value]
        else:
            words.append(word)
    return words


def shown_commands(readme: str) -> list[Shown]:
    """Every command line of ``readme``: the Command line table's first cells, the ``cli.py`` lines of
    its code blocks, and inline spans that run ``cli.py`` or start with a command and show a flag."""
    commands = set(_top_parser_commands())
    found: list[Shown] = []
    prose: list[str] = []  # the README with code blocks and the table blanked, for the inline spans
    in_block = in_table = False
    for number, line in enumerate(readme.splitlines(), start=1):
        prose.append("")
        if line.startswith("```"):
            in_block = not in_block
        elif in_block:
            code = re.split(r"\s#\s", line, maxsplit=1)[0]  # a comment may name cli.py (`cli.py serve`)
            run = re.search(r"python3? cli\.py(?=\s|$)", code)  # not the Layout's prose about cli.py
            if run:
                found.append(Shown(number, code[run.end():]))
        elif line.startswith("| command |"):
            in_table = True
        elif in_table and line.startswith("|"):
            if not line.startswith("|---"):
                found.append(Shown(number, line.split("|")[1].strip().strip("`")))
        else:
            in_table = False
            prose[-1] = line
    text = "\n".join(prose)
    for span in re.finditer(r"`([^`]+)`", text):  # a span may run over a line break
        words, number = " ".join(span.group(1).split()), text.count("\n", 0, span.start()) + 1
        run = re.search(r"cli\.py(?=\s|$)", words)
        if run:
            found.append(Shown(number, words[run.end():]))
        elif words and words.split()[0] in commands and re.search(r"\s\[?--", words):
            found.append(Shown(number, words))
    return found


def _top_parser_commands() -> dict[str, argparse.ArgumentParser]:
    return _subcommands(PARSER) or {}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return parser._option_string_actions.get(flag)


def _placeholder(word: str) -> bool:
    """``FILE``, ``YYYY-MM-DD``, ``$KEY``, ``mining_sites=PATH``: a value the reader fills in."""
    return "$" in word or "=" in word or re.fullmatch(r"[A-Z0-9_.\-/|]+", word) is not None


def _check_choices(action: argparse.Action, word: str, where: str) -> list[str]:
    if action.choices is None or _placeholder(word):
        return []
    return [f"{where}: {'/'.join(action.option_strings) or action.dest} {part!r} is not one of {list(action.choices)}"
            for part in re.split(r"[/|]", word) if part and part not in action.choices]


def _not_a_flag(where: str, flag: str, parser: argparse.ArgumentParser, path: list[str]) -> str:
    takes = sorted(o for o in parser._option_string_actions if o not in HELP)
    return f"{where}: {flag} is not a flag of {' '.join(['cli.py', *path])}; it takes {takes}"


def problems(shown: Shown) -> tuple[list[str], str]:
    """What ``cli.py`` does not accept in ``shown``, and the command path it resolved to."""
    where = f"README.md:{shown.line}: {shown.text.strip()!r}"
    words = _words(shown.text)
    errors: list[str] = []
    parser, path, i = PARSER, list[str](), 0
    while i < len(words):  # cli.py's own flags, then the (sub)command words
        word = words[i]
        if word.startswith("-"):
            action = _option(parser, word)
            if action is None:
                return [_not_a_flag(where, word, parser, path)], " ".join(path)
            i += 1 if action.nargs == 0 else 2
            continue
        choices = _subcommands(parser)
        if choices is None:
            break
        if word not in choices:
            return [f"{where}: {word!r} is not a command of {' '.join(['cli.py', *path])};"
                    f" expected one of {sorted(choices)}"], " ".join(path)
        parser, path, i = choices[word], [*path, word], i + 1
    positionals = [a for a in parser._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]
    loose: list[str] = []
    while i < len(words):
        word = words[i]
        if not word.startswith("-"):
            loose.append(word)
            i += 1
            continue
        action = _option(parser, word)
        if action is None:
            errors.append(_not_a_flag(where, word, parser, path))
            i += 1
            continue
        i += 1
        if action.nargs == 0:
            continue
        while i < len(words) and not words[i].startswith("-"):  # the flag's value(s)
            errors += _check_choices(action, words[i], where)
            i += 1
            if action.nargs in (None, 1, "?"):
                break
    for action, word in zip(positionals, loose):
        errors += _check_choices(action, word, where)
    return errors, " ".join(path)


def _leaf_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[str]:
    choices = _subcommands(parser)
    if choices is None:
        return [" ".join(path)]
    return [leaf for name, sub in choices.items() for leaf in _leaf_commands(sub, (*path, name))]


PARSER = cli.build_parser()
SHOWN = shown_commands(README.read_text(encoding="utf-8"))


@pytest.mark.parametrize("shown", SHOWN, ids=lambda s: f"line{s.line}")
def test_every_shown_command_is_accepted(shown: Shown) -> None:
    errors, _ = problems(shown)
    assert not errors, "\n".join(errors)


def test_every_command_is_shown() -> None:
    resolved = {problems(s)[1] for s in SHOWN}
    missing = [leaf for leaf in _leaf_commands(PARSER) if leaf not in resolved]
    assert not missing, f"commands of cli.py the README never shows: {missing}"
    assert len(SHOWN) > 30  # the table and the code blocks were found


def _flags(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    found = [(" ".join(path) or "cli.py", o) for a in parser._actions for o in a.option_strings
             if o.startswith("--") and o not in HELP]
    return found + [f for name, sub in (_subcommands(parser) or {}).items() for f in _flags(sub, (*path, name))]


def test_every_flag_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [f"{command} {flag}" for command, flag in _flags(PARSER)
               if not re.search(re.escape(flag) + r"(?![\w-])", text)]
    assert not missing, f"flags of cli.py the README never names: {missing}"


def test_make_targets_exist() -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), flags=re.M))
    shown = set(re.findall(r"(?:^|`)make ([a-z][\w-]*)", README.read_text(encoding="utf-8"), flags=re.M))
    assert shown and not shown - targets, f"make targets the README names that the Makefile lacks: {shown - targets}"


@pytest.mark.parametrize("line, wrong", [
    ("python cli.py cases list --stauts new", "--stauts"),
    ("python cli.py export mining_sites --out x.csv --profile partnr", "'partnr'"),
    ("python cli.py case list", "'case'"),
    ("python cli.py --worksapce x.gpkg layers", "--worksapce"),
    ("python cli.py users set-role kofi partners", "'partners'"),
])
def test_a_misspelt_line_is_caught(line: str, wrong: str) -> None:
    (shown,) = shown_commands(f"```\n{line}\n```\n")
    errors, _ = problems(shown)
    assert errors and wrong in errors[0]

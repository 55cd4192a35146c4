"""Every command's --help ends with example command lines, and each example parses."""

from __future__ import annotations

import shlex

import pytest

from sinkplan.cli import build_parser
from sinkplan.examples import EXAMPLES, EXAMPLES_HEADING

PARSER = build_parser()
COMMANDS = sorted(next(a for a in PARSER._actions if a.dest == "command").choices)


def test_every_command_has_examples():
    assert set(COMMANDS) == set(EXAMPLES)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_ends_with_two_or_three_examples(command, capsys):
    with pytest.raises(SystemExit) as e:
        PARSER.parse_args([command, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out.rstrip("\n").splitlines()
    head = text.index(EXAMPLES_HEADING)
    examples = [line.strip() for line in text[head + 1:]]
    assert 2 <= len(examples) <= 3
    assert all(line.startswith("sinkplan ") for line in examples)
    assert examples == list(EXAMPLES[command])


@pytest.mark.parametrize("command,line", [(c, line) for c in sorted(EXAMPLES) for line in EXAMPLES[c]])
def test_each_example_parses(command, line):
    argv = shlex.split(line)[1:]  # drop "sinkplan"
    args = PARSER.parse_args(argv)  # a renamed or missing option raises SystemExit(2) here
    assert args.func is not None

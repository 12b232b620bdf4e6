"""Running the ``immunopet`` command line in-process, as the tests do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from immunopet.cli import main


def exit_code(argv: Sequence[Any]) -> int:
    """``immunopet ARGV`` in this process; its exit code (0 when it returns)."""
    try:
        main([str(a) for a in argv])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def run_cli(argv: Sequence[Any], capsys: Any) -> tuple[int, str, str]:
    """``immunopet ARGV`` in this process: exit code, stdout and stderr (pytest ``capsys``)."""
    code = exit_code(argv)
    out, err = capsys.readouterr()
    return code, out, err

"""The ``immunopet`` command line (typer + rich).

Each group of commands lives in a module of this package named after the
domain step it drives, and exposes ``register(app)``. :func:`main` turns every
:class:`~immunopet.core.errors.ImmunopetError` into a one-line message on stderr and
exit code 2 — never a traceback.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import typer
from rich.console import Console
from rich.markup import escape

from ..core.errors import ImmunopetError, ImmunopetWarning

__all__ = ["app", "main"]

app = typer.Typer(
    name="immunopet",
    help="Quantitative immuno-PET: from scanner images to SUVs, lesions, kinetics, doses and a report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Command modules, in the order of the data flow (ARCHITECTURE.md).
_COMMAND_MODULES = (
    "ingest",  # info, suv
    "regions",  # measure, lesions, match
    "kinetics",  # tac
    "dosimetry",  # dose
    "voxel",  # voxel-tia, voxel-dose
    "pipeline",  # run, report, schema
    "demo",  # demo
)

err_console = Console(stderr=True)

for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def _show_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    label = "warning" if issubclass(category, ImmunopetWarning) else category.__name__
    err_console.print(f"[yellow]{label}:[/yellow] {escape(str(message))}", highlight=False)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``immunopet`` console script."""
    warnings.showwarning = _show_warning
    try:
        app(args=argv, standalone_mode=False)
    except ImmunopetError as exc:
        err_console.print(
            f"[red]immunopet error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()

"""The ``immunopet`` command line (typer + rich).

Each group of commands lives in a module of this package named after the
domain step it drives, and exposes ``register(app)``. :func:`main` turns every
:class:`~immunopet.core.errors.ImmunopetError` into a one-line message on stderr and
exit code 2 — never a traceback.
"""

from __future__ import annotations

import importlib
import os
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
    no_args_is_help=False,  # `immunopet` alone is a usage mistake: one line + hint (main)
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Command modules, in the order of the data flow (ARCHITECTURE.md).
_COMMAND_MODULES = (
    "ingest",  # info, suv
    "regions",  # measure, lesions
    "match",  # match
    "kinetics",  # tac
    "dosimetry",  # dose
    "kernels",  # kernel, sphere
    "voxel",  # voxel-tia, voxel-dose
    "pipeline",  # run, report, schema
    "bids",  # study from-bids, export-bids
    "demo",  # demo
)

err_console = Console(stderr=True)

for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def _show_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    label = "warning" if issubclass(category, ImmunopetWarning) else category.__name__
    err_console.print(
        f"[yellow]{label}:[/yellow] {escape(str(message))}", highlight=False, soft_wrap=True
    )


def _click_exception_types() -> tuple[type[BaseException], ...]:
    """Click's exception base classes: typer ≥ 0.20 vendors its own copy (``typer._click``)."""
    found: list[type[BaseException]] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def _usage_hint(exc: BaseException) -> str:
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or "immunopet"
    return f"Try '{path} --help'."


def _usage_error(exc: BaseException) -> None:
    """A usage mistake: one line, the usage hint, exit code 2 (never a traceback)."""
    name = type(exc).__name__
    if name == "NoArgsIsHelpError":
        ctx = getattr(exc, "ctx", None)
        message = (
            "no command given" if getattr(ctx, "parent", None) is None else "missing arguments"
        )
    else:
        try:
            message = exc.format_message()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001
            message = str(exc)
    message = " ".join(str(message).split()) or name
    err_console.print(
        f"[red]immunopet error:[/red] {escape(message)}", highlight=False, soft_wrap=True
    )
    err_console.print(escape(_usage_hint(exc)), highlight=False, soft_wrap=True)
    sys.exit(2)


def _version() -> str:
    from ..core.version import __version__

    return f"immunopet {__version__}"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``immunopet`` console script.

    Exit codes: 0 done; 2 bad input or a usage mistake (one line on stderr, no
    traceback); 3 a run completed with errors; 1 an unexpected internal error
    (one line; set ``IMMUNOPET_DEBUG=1`` for the traceback); 130 interrupted.
    """
    warnings.showwarning = _show_warning
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["--version"], ["-V"]):
        typer.echo(_version())
        sys.exit(0)
    click_errors = _click_exception_types()
    try:
        app(args=args, standalone_mode=False, prog_name="immunopet")
    except ImmunopetError as exc:
        err_console.print(
            f"[red]immunopet error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except click_errors as exc:
        _usage_error(exc)
    except Exception as exc:
        if type(exc).__name__ in ("Exit", "Abort"):  # click's own, from either copy
            code = getattr(exc, "exit_code", 0)
            sys.exit(130 if type(exc).__name__ == "Abort" else code or 0)
        if os.environ.get("IMMUNOPET_DEBUG"):
            raise
        err_console.print(
            f"[red]immunopet internal error:[/red] {escape(type(exc).__name__)}: "
            f"{escape(' '.join(str(exc).split()))} — please report it (IMMUNOPET_DEBUG=1 shows "
            "the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()

"""What every command gets from the top-level group."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from kopnet_iac.errors import InventoryError, KopnetError

F = TypeVar("F", bound=Callable[..., Any])

#: Exit codes, one convention for every command (see ``kopnet --help``)
EXIT_OK = 0  # success; nothing differs
EXIT_DIFFERENT = 1  # differences found (--exit-code), checks failed, nothing applied
EXIT_USAGE = 2  # usage error (click's own code)
EXIT_ERROR = 3  # errors: bad inventory, unknown village or revision, device unreachable, ...

EXIT_CODES_HELP = """\b
Exit codes (every command):
  0  success; nothing differs
  1  differences found (diff/drift --exit-code) or checks failed
  2  usage error (unknown option, missing argument)
  3+ errors: bad inventory, unknown village, release or git revision,
     unreachable device, damaged state (4)"""


@dataclass(frozen=True)
class AppContext:
    """Global options shared by all commands."""

    inventory_dir: Path
    verbose: int = 0


def app_context(ctx: click.Context) -> AppContext:
    obj = ctx.find_object(AppContext)
    if obj is None:  # a command invoked outside the top-level group (tests)
        return AppContext(inventory_dir=Path("inventory"))
    return obj


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def echo_json(data: Any) -> None:
    """Print machine-readable output: sorted keys, stable, one document."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn KopnetError into a clean message and exit code 3 (never a traceback)."""
    try:
        yield
    except InventoryError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s) found", err=True)
        sys.exit(EXIT_ERROR)
    except KopnetError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)

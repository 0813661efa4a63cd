"""The root command group. Expected failures become ``Error: …`` here, and only here.

Subcommands are imported when they are called, so that ``complaint-ledger report sla`` does
not pay for loading the write path's models (and the other way round): ``SUBCOMMANDS`` says
which module of ``commands.cli`` defines each of them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any, cast

import click

from commands.cli.output import printable
from ledger.domain.errors import LedgerError, unreadable_event

if TYPE_CHECKING:
    from pydantic_core import ValidationError

WRITES = ("add-note assign close contact correct escalate execute extend notify-outcome pause plan"
          " receive record-callback record-findings reopen resume triage withdraw")  # fmt: skip
SUBCOMMANDS: Mapping[str, str] = {
    **dict.fromkeys(WRITES.split(), "writes"),
    **dict.fromkeys(["audit", "list", "report"], "reports"),
    "alerts": "alerts",
    **dict.fromkeys(["calendar", "policy"], "publish"),
    **dict.fromkeys(["erase", "history"], "audit"),
    **dict.fromkeys(["export", "seal", "verify", "verify-bundle"], "integrity"),
    **dict.fromkeys(["acknowledge", "instruct", "sign-off", "accountability"], "escalation"),
    "apply": "apply",
    "codes": "codes",
    "attach": "evidence",
    "demo": "demo",
    "export-commands": "exporting",
    "feed": "feed",
    "generate": "generate",
    "reply-regulator": "regulator_reply",
    "import": "imports",
    "improvement": "improvement",
    **dict.fromkeys(["index", "related"], "repeats"),
    "link": "links",
    "projections": "projections",
    "serve": "serve",
    "show": "reads",
    "sla": "sla",
    "staff": "staff",
    **dict.fromkeys(["training", "drill"], "readiness"),
}


class LedgerGroup(click.Group):
    """The root group: loads a subcommand's module on first use, and turns the ledger's
    expected errors into one-line messages."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in SUBCOMMANDS:
            importlib.import_module(f"commands.cli.{SUBCOMMANDS[cmd_name]}")
        return super().get_command(ctx, cmd_name)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as e:
            raise _error_first(e) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            raise _error_first(e) from None
        except LedgerError as e:
            raise click.ClickException(printable(str(e))) from None
        except Exception as e:
            if _persistence_error(e):
                raise click.ClickException(printable(f"database error: {e}")) from None
            if _unreadable_event(e):
                raise click.ClickException(printable(unreadable_event(e))) from None
            invalid = _validation_error(e)
            if invalid is None:
                raise
            from commands.errors import describe_validation_error

            raise click.ClickException(describe_validation_error(invalid)) from None


def _unreadable_event(e: Exception) -> bool:
    """Whether ``e`` is the library's failure to decode a stored event (bytes that are not
    what the ledger wrote), met here or in a worker process of the bulk path."""
    module = sys.modules.get("eventsourcing.persistence")
    return module is not None and isinstance(e, module.MapperDeserialisationError)


def _persistence_error(e: Exception) -> bool:
    """Whether ``e`` is the library's ``PersistenceError``. Only a command that loaded the
    library can raise one, so a command that did not (a lean read) need not load it here."""
    module = sys.modules.get("eventsourcing.persistence")
    return module is not None and isinstance(e, module.PersistenceError)


class UsageProblem(click.UsageError):
    """A usage error said as the README promises: one ``Error: …`` line first, then the
    usage and how to ask for help (click puts the usage first and the error last)."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {printable(self.format_message())}", file=file, err=True)
        if self.ctx is not None:
            click.echo(self.ctx.get_usage(), file=file, err=True)
            click.echo(f"Try '{self.ctx.command_path} --help' for help.", file=file, err=True)


def _error_first(error: click.UsageError) -> click.UsageError:
    """``error`` as a ``UsageProblem``; a group called without a subcommand keeps printing
    its help (that is what was asked for, not a mistake to report)."""
    if isinstance(error, UsageProblem | click.exceptions.NoArgsIsHelpError):
        return error
    return UsageProblem(error.format_message(), error.ctx)


def _validation_error(error: Exception) -> ValidationError | None:
    """``error`` if it is pydantic's. Pydantic is only imported by the commands that use it
    (importing it costs a read command a tenth of a second), so none was raised without it."""
    pydantic_core = sys.modules.get("pydantic_core")
    if pydantic_core is not None and isinstance(error, pydantic_core.ValidationError):
        return cast("ValidationError", error)
    return None


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="complaint-ledger")
def cli() -> None:
    """An event-sourced ledger for debt-collection complaints.

    Every action on a complaint is an immutable event; state, deadlines and the
    audit trail are derived from them. Example: complaint-ledger demo
    """

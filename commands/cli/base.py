"""The root command group. Expected failures become ``Error: …`` here, and only here."""

from __future__ import annotations

from typing import Any

import click
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError

from commands.errors import describe_validation_error
from ledger.errors import LedgerError


class LedgerGroup(click.Group):
    """A click group that turns the ledger's expected errors into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LedgerError as e:
            raise click.ClickException(str(e)) from None
        except ValidationError as e:
            raise click.ClickException(describe_validation_error(e)) from None
        except PersistenceError as e:
            raise click.ClickException(f"database error: {e}") from None


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="complaint-ledger")
def cli() -> None:
    """An event-sourced ledger for debt-collection complaints.

    Every action on a complaint is an immutable event; state, deadlines and the
    audit trail are derived from them. Example: complaint-ledger demo
    """

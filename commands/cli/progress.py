"""A count of the work done so far, on a terminal only: ``commands.jsonl: 1200 lines``."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType

import click

EVERY = 200  # items between two redraws


class Progress:
    """Redraws ``NAME: N UNIT`` in place on standard error while it is a terminal, and is
    silent when standard error is piped, so piped output stays exactly as it was."""

    def __init__(self, name: str, unit: str, every: int = EVERY) -> None:
        # Standard input is named "-" or "<stdin>": then the count stands alone.
        self.label = "" if name in ("", "-") or name.startswith("<") else f"{Path(name).name}: "
        self.unit = unit
        self.every = every
        self.done = 0
        self.shown = ""
        self.active = sys.stderr.isatty()

    def advance(self, n: int = 1) -> None:
        before = self.done
        self.done += n
        if self.active and before // self.every != self.done // self.every:
            self._draw()

    def echo(self, message: str) -> None:
        """A line of its own on standard error (an error), not mixed into the count."""
        self._clear()
        click.echo(message, err=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.active and kind is None:
            self._draw()
            click.echo(err=True)
        else:
            self._clear()

    def _draw(self) -> None:
        text = f"{self.label}{self.done} {self.unit}"
        click.echo("\r" + text.ljust(len(self.shown)), err=True, nl=False)
        self.shown = text

    def _clear(self) -> None:
        if self.shown:
            click.echo("\r" + " " * len(self.shown) + "\r", err=True, nl=False)
            self.shown = ""

"""The README's command blocks, run as a newcomer types them: after the demo, in a fresh
directory, through bash, with the installed ``complaint-ledger`` script.

The blocks are read from README.md itself, so a README change that no longer works fails
here. A comment line right after a command (``# TS-20261128-0001: Received (version 1)``) is
the output the README promises, and must be what the command prints.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FIXTURES = ROOT / "tests" / "fixtures"
SCRIPTS = Path(sys.executable).parent
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass
class Command:
    text: str
    expected: list[str] = field(default_factory=list)


def shell_blocks(markdown: str) -> list[str]:
    return BLOCK.findall(markdown)


def commands(block: str) -> list[Command]:
    """The commands of a block, continuation lines joined, each with the output lines the
    README shows right after it (full-line comments)."""
    found: list[Command] = []
    pending = ""
    for line in block.splitlines():
        if pending:
            pending += "\n" + line
        elif line.startswith("# "):
            found[-1].expected.append(line[2:])
            continue
        elif line.strip():
            pending = line
        if pending and not pending.endswith("\\"):
            found.append(Command(pending))
            pending = ""
    assert not pending, f"a command ends with a backslash: {pending!r}"
    return found


def newcomer_commands() -> list[Command]:
    """Every command of the README but its first block, which only says how to start: its
    ``make demo`` is the ``complaint-ledger demo`` run first (the Makefile says so)."""
    first, *rest = shell_blocks(README.read_text(encoding="utf-8"))
    assert [c.text.split("#")[0].strip() for c in commands(first)] == ["make demo", "make test"]
    assert "$(BIN)/complaint-ledger demo\n" in (ROOT / "Makefile").read_text(encoding="utf-8")
    return [Command("complaint-ledger demo")] + [c for block in rest for c in commands(block)]


def script(steps: list[Command], out: Path) -> str:
    """One bash session (exports carry on, as in a terminal); each command's output and exit
    code written to files of its own."""
    lines = []
    for n, step in enumerate(steps):
        lines += [
            "{",
            step.text,
            f"}} > {out / f'{n}.out'} 2> {out / f'{n}.err'} < /dev/null",
            f"echo $? > {out / f'{n}.rc'}",
        ]
    return "\n".join(lines) + "\n"


def fresh_directory(tmp_path: Path) -> Path:
    """A directory like the project's after ``make demo``'s install: ``.venv`` holds the
    installed script, and ``complaints.csv`` stands for a CFPB export the user downloaded."""
    home = tmp_path / "newcomer"
    home.mkdir()
    venv = Path(sys.prefix)
    if (venv / "bin" / "activate").exists():
        (home / ".venv").symlink_to(venv, target_is_directory=True)
    else:  # not run from a virtual environment: an activate that finds the same script
        (home / ".venv" / "bin").mkdir(parents=True)
        (home / ".venv" / "bin" / "activate").write_text(f'PATH="{SCRIPTS}:$PATH"\n')
    shutil.copyfile(FIXTURES / "cfpb_new.csv", home / "complaints.csv")
    return home


def test_the_readme_blocks_parse_into_commands_and_promised_output() -> None:
    steps = newcomer_commands()

    texts = [s.text for s in steps]
    assert texts[0] == "complaint-ledger demo"
    assert texts[1] == ". .venv/bin/activate"
    receive = next(s for s in steps if s.text.startswith("complaint-ledger receive"))
    assert receive.text.count("\\\n") >= 1
    assert receive.expected == ["TS-20261128-0001: Received (version 1)"]
    assert any(t.startswith("complaint-ledger import cfpb complaints.csv") for t in texts)


def test_the_readme_works_as_written_after_the_demo(tmp_path: Path) -> None:
    steps = newcomer_commands()
    home = fresh_directory(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(
        PATH=f"{SCRIPTS}{os.pathsep}{env.get('PATH', '')}",
        XDG_CONFIG_HOME=str(tmp_path / "config"),  # where the first seal creates its key
        NO_COLOR="1",
    )

    subprocess.run(["bash", "-c", script(steps, out)], cwd=home, env=env, timeout=900,
                   check=False)  # fmt: skip

    for n, step in enumerate(steps):
        rc = (out / f"{n}.rc").read_text().strip()
        stdout = (out / f"{n}.out").read_text(encoding="utf-8")
        stderr = (out / f"{n}.err").read_text(encoding="utf-8")
        assert rc == "0", f"{step.text}\nexit {rc}\n{stderr}"
        assert "Traceback" not in stderr, step.text
        if step.expected:
            assert stdout.splitlines() == step.expected, step.text
    assert (home / "demo.db").exists()
    assert not (home / "complaints.db").exists()  # the README never touched the default ledger


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("a \\\n  b\n# out\nc  # note\n", [("a \\\n  b", ["out"]), ("c  # note", [])]),
        ("x\n# one\n# two\n\ny\n", [("x", ["one", "two"]), ("y", [])]),
    ],
)
def test_commands_join_continuations_and_keep_the_output_shown_after_each(
    block: str, expected: list[tuple[str, list[str]]]
) -> None:
    assert [(c.text, c.expected) for c in commands(block)] == expected


def test_the_readme_names_every_clock_where_it_lists_the_clocks() -> None:
    from ledger.domain.sla import INTAKE_RECORD
    from ledger.domain.values import ClockName

    deadlines = README.read_text(encoding="utf-8").split("**Deadlines.**", 1)[1].split("\n\n")[0]
    clocks = [INTAKE_RECORD, *ClockName]

    assert [str(c) for c in clocks if f"`{c}`" not in deadlines] == []

"""``apply`` and ``import`` show the work done so far on a terminal, and nothing when their
standard error is piped."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.helpers import jsonl, receive_cmd, run

FIXTURES = Path(__file__).parents[1] / "fixtures"
SCRIPT = str(Path(sys.executable).with_name("complaint-ledger"))


def commands_file(tmp_path: Path, count: int, bad: int | None = None) -> Path:
    lines = jsonl([receive_cmd(f"TS-P{n}") for n in range(1, count + 1)]).splitlines()
    if bad is not None:
        lines[bad - 1] = "{not json"
    path = tmp_path / "commands.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def on_a_terminal(url: str, *args: str) -> tuple[int, str, str]:
    """Run the installed script with standard error on a pseudo-terminal; returns the exit
    code, standard output and what the terminal received."""
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [SCRIPT, *args, "--db", url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, "LEDGER_DB": "", "LEDGER_ACTOR": "", "LEDGER_ROLE": ""},
    ) as process:
        os.close(terminal)
        received = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other end was closed: the script has ended
                break
            if not chunk:
                break
            received += chunk
        stdout = process.stdout.read() if process.stdout else b""
        code = process.wait(timeout=120)
    os.close(controller)
    return code, stdout.decode(), received.decode().replace("\r\n", "\n")


def test_apply_counts_lines_on_a_terminal(ledger_url: str, tmp_path: Path) -> None:
    path = commands_file(tmp_path, 450, bad=300)

    code, stdout, terminal = on_a_terminal(ledger_url, "apply", str(path), "--bulk")

    assert code == 1
    assert stdout == "applied 449, already applied 0, failed 1\n"
    assert "\rcommands.jsonl: 200 lines" in terminal
    assert "Error: line 300: not valid JSON (Expecting property name enclosed in double quotes " \
        "at character 2)\n" in terminal  # fmt: skip
    assert terminal.endswith("\rcommands.jsonl: 450 lines\n")


def test_apply_prints_no_progress_when_piped(ledger_url: str, tmp_path: Path) -> None:
    path = commands_file(tmp_path, 450, bad=300)

    result = run(ledger_url, "apply", str(path), "--bulk")

    assert result.stderr == (
        "Error: line 300: not valid JSON (Expecting property name enclosed in double quotes "
        "at character 2)\n"
    )
    assert result.stdout == "applied 449, already applied 0, failed 1\n"


def test_import_counts_rows_on_a_terminal(ledger_url: str) -> None:
    code, stdout, terminal = on_a_terminal(
        ledger_url, "import", "cfpb", str(FIXTURES / "cfpb_new.csv")
    )

    assert code == 0
    assert "cfpb_new.csv" in stdout
    assert terminal == "\rcfpb_new.csv: 7 rows\n"

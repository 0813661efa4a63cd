"""The folders' arrows point one way (docs/design.md, "Layout"): a module that imports against
them fails here, by name, before it tangles the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent

# package -> prefixes its modules may not import
FORBIDDEN = {
    "ledger": ("commands", "projections", "consumers"),
    "ledger/domain": (
        "ledger.store.root", "ledger.integrity.verify", "commands", "projections", "consumers",
    ),
    "projections": ("commands", "consumers"),
}  # fmt: skip
# Consumers (alerts) are started from the command line; nothing else under commands/ may
# import them: commands -> projections -> ledger, consumers -> commands/projections -> ledger.
STARTERS = ("commands/cli",)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


CASES = [
    (str(path.relative_to(ROOT)), prefixes)
    for package, prefixes in FORBIDDEN.items()
    for path in sorted((ROOT / package).rglob("*.py"))
]


@pytest.mark.parametrize(("module", "forbidden"), CASES, ids=[c[0] for c in CASES])
def test_module_imports_only_what_its_layer_may(module: str, forbidden: tuple[str, ...]) -> None:
    imported = imported_modules(ROOT / module)

    wrong = sorted(
        name for name in imported for p in forbidden if name == p or name.startswith(p + ".")
    )

    assert wrong == []


COMMAND_MODULES = [
    str(path.relative_to(ROOT))
    for path in sorted((ROOT / "commands").rglob("*.py"))
    if not str(path.relative_to(ROOT)).startswith(STARTERS)
]


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_only_the_command_line_starts_consumers(module: str) -> None:
    imported = imported_modules(ROOT / module)

    assert sorted(n for n in imported if n == "consumers" or n.startswith("consumers.")) == []


def test_every_module_of_ledger_lives_in_one_of_its_three_packages() -> None:
    loose = sorted(p.name for p in (ROOT / "ledger").glob("*.py") if p.name != "__init__.py")

    assert loose == []

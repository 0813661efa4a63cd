"""Every ``guards.record(complaint, "EventName", stamp, **fields)`` in the code names an event
of ``Complaint`` and gives it exactly its fields: none it does not have, none of its required
ones left out. Mypy cannot see this (the name is a string, the fields ``**Any``), and tests
reach only the call sites they drive, so the call sites are read from the source with ``ast``
and compared with the event classes' own signatures (what ``trigger_event`` will call).

A ``**`` spread is checked too when it is a call whose return annotation is a ``TypedDict``:
a function of the module (``**coded(...)``), or a method of a parameter's annotated class
(``**alert.as_fields()``). Anything else is reported as a call site that cannot be checked."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, is_typeddict

from eventsourcing.domain import Aggregate

from ledger.domain.complaint import Complaint

ROOT = Path(__file__).parent.parent.parent
PACKAGES = ("ledger", "commands", "projections", "consumers")
GUARDS = "ledger.domain.actions.guards"
ENVELOPE = {"self", "originator_id", "originator_version", "timestamp"}
STAMPED = frozenset({"actor", "occurred_at", "command_id"})  # what ``record`` takes from the stamp


@dataclass(frozen=True)
class Site:
    where: str
    module: str
    function: ast.FunctionDef | ast.AsyncFunctionDef | None
    call: ast.Call


def call_sites() -> list[Site]:
    sites = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            names, modules = _record_names(tree, module)
            if not names and not modules:
                continue
            for function, call in _calls(tree):
                func = call.func
                if (isinstance(func, ast.Name) and func.id in names) or (
                    isinstance(func, ast.Attribute)
                    and func.attr == "record"
                    and isinstance(func.value, ast.Name)
                    and func.value.id in modules
                ):
                    where = f"{path.relative_to(ROOT)}:{call.lineno}"
                    sites.append(Site(where, module, function, call))
    return sites


def _record_names(tree: ast.Module, module: str) -> tuple[set[str], set[str]]:
    """The names ``guards.record`` goes by in ``module``, and the names of ``guards`` itself
    (imported by its full name or relative to ``module``)."""
    names, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            package = module.rpartition(".")[0]  # of ``a/b/__init__.py`` too: ``a.b``
            source = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            for alias in node.names:
                if source == GUARDS and alias.name == "record":
                    names.add(alias.asname or alias.name)
                if f"{source}.{alias.name}" == GUARDS:
                    modules.add(alias.asname or alias.name)
        if isinstance(node, ast.Import):
            modules.update(a.asname for a in node.names if a.name == GUARDS and a.asname)
    return names, modules


def _calls(
    tree: ast.AST, function: ast.FunctionDef | ast.AsyncFunctionDef | None = None
) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, ast.Call]]:
    found = []
    for node in ast.iter_child_nodes(tree):
        inner = node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else function
        if isinstance(node, ast.Call):
            found.append((function, node))
        found.extend(_calls(node, inner))
    return found


def event_fields(name: str) -> tuple[set[str], set[str]] | str:
    """The fields of the event ``Complaint.<name>`` and the required ones among them, or why
    there is no such event."""
    event = getattr(Complaint, name, None)
    if not (isinstance(event, type) and issubclass(event, Aggregate.Event)):
        return f"Complaint has no event {name!r}"
    parameters = inspect.signature(event.__init__).parameters
    fields = {p for p in parameters if p not in ENVELOPE}
    required = {p for p in fields if parameters[p].default is inspect.Parameter.empty}
    return fields, required


def spread_keys(site: Site, spread: ast.expr) -> tuple[set[str], set[str]] | str:
    """The keys a ``**`` spread gives, and the ones it always gives, or why they are unknown."""
    namespace = vars(importlib.import_module(site.module))
    target: Any = None
    if isinstance(spread, ast.Call) and isinstance(spread.func, ast.Name):
        target = namespace.get(spread.func.id)
    elif (
        isinstance(spread, ast.Call)
        and isinstance(spread.func, ast.Attribute)
        and isinstance(spread.func.value, ast.Name)
        and site.function is not None
    ):
        arguments = site.function.args
        for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            if argument.arg == spread.func.value.id and argument.annotation is not None:
                owner = eval(ast.unparse(argument.annotation), namespace)
                target = getattr(owner, spread.func.attr, None)
    if target is None:
        return f"cannot check **{ast.unparse(spread)}: spread a call returning a TypedDict"
    returned = inspect.get_annotations(target).get("return")
    if isinstance(returned, str):
        returned = eval(returned, target.__globals__)
    if not is_typeddict(returned):
        return f"cannot check **{ast.unparse(spread)}: it does not return a TypedDict"
    return set(returned.__annotations__), set(returned.__required_keys__)


def problems_of(site: Site) -> list[str]:
    call = site.call
    if len(call.args) != 3 or any(isinstance(a, ast.Starred) for a in call.args):
        return ["record takes the complaint, the event's name and the stamp, then names"]
    name = call.args[1]
    if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
        return ["the event's name must be a string literal, to be checked here"]
    fields = event_fields(name.value)
    if isinstance(fields, str):
        return [fields]
    known, required = fields
    given, always, problems = list(STAMPED), set(STAMPED), []
    for keyword in call.keywords:
        if keyword.arg is not None:
            given.append(keyword.arg)
            always.add(keyword.arg)
            continue
        keys = spread_keys(site, keyword.value)
        if isinstance(keys, str):
            problems.append(keys)
            continue
        given.extend(sorted(keys[0]))
        always |= keys[1]
    twice = sorted({g for g in given if given.count(g) > 1})
    unknown = sorted(set(given) - known)
    missing = sorted(required - always)
    if twice:
        problems.append(f"{name.value} given {', '.join(twice)} twice")
    if unknown:
        problems.append(f"{name.value} has no field {', '.join(unknown)}")
    if missing:
        problems.append(f"{name.value} needs {', '.join(missing)}")
    return problems


def test_the_call_sites_are_found() -> None:
    sites = call_sites()
    assert len(sites) >= 35, [s.where for s in sites]
    assert {s.module.rsplit(".", 1)[-1] for s in sites} >= {
        "clocks", "intake", "leadership", "records", "stages",
    }  # fmt: skip


def test_every_record_call_gives_its_event_exactly_its_fields() -> None:
    wrong = {s.where: p for s in call_sites() if (p := problems_of(s))}
    assert wrong == {}


def test_a_relative_import_of_record_is_found() -> None:
    # A module of the actions importing it as ``from .guards import record`` (or ``from .
    # import guards``) has its calls checked too, not skipped unseen.
    for source in ("from .guards import record as put\n", "from . import guards as put\n"):
        names, modules = _record_names(ast.parse(source), "ledger.domain.actions.extra")
        assert "put" in names | modules, source

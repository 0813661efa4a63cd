"""``seal``, ``verify``, ``export`` and ``verify-bundle``: tamper evidence for auditors."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from commands.cli.base import cli
from commands.cli.output import db_option, local_time, parse_time
from ledger.domain.errors import SealKeyUnusable
from ledger.integrity.anchors import Anchor, configured_anchor, unanchored_reason
from ledger.integrity.bundle import export_bundle, refs_received_between
from ledger.integrity.bundle_check import verify_bundle
from ledger.integrity.bundle_evidence import EvidenceReport
from ledger.integrity.sealing import seal_ledger
from ledger.integrity.seals import (
    KEY_ENV,
    default_key_file,
    load_signing_key,
    public_bytes,
    public_key_hex,
    read_digest,
)
from ledger.integrity.verify import verify_complaint, verify_ledger
from ledger.store.evidence import EVIDENCE_ENV
from ledger.store.root import open_ledger, open_reader


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def key_file_option(fn: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--key-file",
        envvar="LEDGER_SEAL_KEY_FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"The seal key (PEM); default {default_key_file()} (env LEDGER_SEAL_KEY_FILE). "
        f"{KEY_ENV} (hex) takes precedence.",
    )(fn)


@cli.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the digest (default: ledger-digest-POSITION.json).",
)
@click.option("--actor", envvar="LEDGER_ACTOR", default="operator", show_default=True)
@key_file_option
@db_option
def seal(out: Path | None, actor: str, key_file: Path | None, db: str) -> None:
    """Sign the hash chain as it stands and append the seal; write the digest as JSON.

    The first seal without LEDGER_SEAL_KEY or a key file creates a key file.

    \b
    Example:
      complaint-ledger seal --out digests/2026-11-30.json
    """
    folder = (out.parent if out else Path.cwd()).resolve()
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise click.ClickException(f"cannot write the digest into {folder}; nothing was sealed")
    path = key_file or default_key_file()
    from_env = os.environ.get(KEY_ENV)
    key, created = load_signing_key(from_env, path, create=True)
    if created is not None:
        click.echo(
            f"created a new seal key at {created} (keep it safe: whoever holds it can make "
            f"seals); public key {public_bytes(key).hex()}"
        )
    with open_ledger(db) as ledger:
        digest = seal_ledger(ledger, key, actor, datetime.now(UTC))
    target = out or Path(f"ledger-digest-{digest.seal.position}.json")
    try:
        target.write_text(digest.to_json(), encoding="utf-8")
    except OSError as e:
        raise click.ClickException(
            f"sealed, but cannot write the digest to {target}: {e}"
        ) from None
    s = digest.seal
    click.echo(
        f"sealed position {s.position} ({plural(s.events, 'event')}, "
        f"{plural(s.streams, 'stream')}), head "
        f"{s.head[:16]}…, key {digest.key_id}"
    )
    if created is None:  # a key that was already there: say which one signed
        click.echo(
            f"signed with the key in {KEY_ENV}"
            if from_env
            else f"signed with the seal key at {path}"
        )
    click.echo(f"digest written to {target}")


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal; nothing when stderr is piped."""
    if not sys.stderr.isatty() or total == 0:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        done = 0

        def advance(position: int) -> None:
            nonlocal done
            if position - done >= 1000 or position == total:
                bar.update(position - done)
                done = position

        yield advance


@cli.command()
@click.argument("ref", required=False)
@click.option("--digest", type=click.Path(dir_okay=False, path_type=Path), help="A digest file.")
@click.option("--public-key", metavar="HEX", help="The key every seal must be signed with.")
@click.option(
    "--no-anchor",
    is_flag=True,
    help="Accept a check of internal consistency only, when no digest or key is at hand.",
)
@db_option
def verify(
    ref: str | None, digest: Path | None, public_key: str | None, no_anchor: bool, db: str
) -> None:
    """Recompute the hash chain and check it against every seal; name the first divergence.

    Exit 0 when intact, 1 otherwise. With REF, one complaint against the last seal. The
    seals are checked against a trust anchor: --digest, --public-key, else the key in
    LEDGER_VERIFY_PUBLIC_KEY, else the public half of this machine's seal key. Without
    one, only internal consistency is checked, which exits 1 unless --no-anchor is given.

    \b
    Example:
      complaint-ledger verify --digest ledger-digest-1200.json
    """
    if public_key is not None:
        try:
            public_key = public_key_hex(public_key)
        except SealKeyUnusable as e:
            raise click.ClickException(f"--public-key: {e}") from None
    given = read_digest(digest) if digest else None
    # The key the seals must be signed with; a digest alone brings its own (explicit
    # options take the place of the machine's configuration).
    trusted: Anchor | None = None
    if public_key is not None:
        trusted = Anchor(public_key, "--public-key")
    elif given is None:
        key_file = os.environ.get("LEDGER_SEAL_KEY_FILE") or default_key_file()
        trusted = configured_anchor(os.environ, Path(key_file))
    anchor = trusted or (Anchor(given.public_key, f"the digest {digest}") if given else None)
    with open_reader(db) as ledger:
        if ref is not None:
            one = verify_complaint(ledger, ref, given, trusted)
            sealed = one.sealed_position > 0
            covered = (
                f"head included in the seal at position {one.sealed_position}"
                if sealed
                else "no seal covers it yet"
            )
            verdict = "intact" if anchor and sealed else "internally consistent"
            click.echo(f"{ref}: {one.events} events match their chain links; {covered}: {verdict}")
            _say_anchor(anchor, sealed, no_anchor)
            return
        with progress_bar(ledger.count_events(), "verifying") as advance:
            report = verify_ledger(ledger, given, trusted, advance)
    seals = report.seals
    sealed = bool(seals) or given is not None
    click.echo(
        f"verified {plural(report.events, 'event')} (to position {report.last_position}) and "
        f"{plural(len(seals), 'seal')}"
        f"{' and the digest' if given else ''}: "
        f"{'intact' if anchor and sealed else 'internally consistent'}"
    )
    if not sealed:
        click.echo("not sealed yet: run complaint-ledger seal to protect what is there")
    else:
        last = given or seals[-1]
        click.echo(
            f"last seal: position {last.seal.position} at {local_time(last.seal.sealed_at)}, "
            f"key {last.key_id}; {plural(report.unsealed, 'event')} after it not sealed yet"
        )
    _say_anchor(anchor, sealed, no_anchor)


def _say_anchor(anchor: Anchor | None, sealed: bool, no_anchor: bool) -> None:
    """Name what the check was anchored to; without an anchor, say so and fail unless
    ``--no-anchor`` accepted that."""
    reason = unanchored_reason(anchor, sealed)
    if reason is None:
        click.echo(f"anchored to {anchor}")
    elif no_anchor:
        click.echo(
            "not anchored (--no-anchor): only the ledger's internal consistency was checked; "
            "a ledger rewritten and re-sealed with another key would pass as well"
        )
    else:
        raise click.ClickException(reason)


@cli.command()
@click.argument("refs", nargs=-1)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A new directory.",
)
@click.option("--from", "start", metavar="TIME", help="Complaints received from TIME …")
@click.option("--to", "end", metavar="TIME", help="… up to (not including) TIME.")
@db_option
def export(refs: tuple[str, ...], out: Path, start: str | None, end: str | None, db: str) -> None:
    """Write an audit bundle: events as stored, a readable trail and the proof to the last seal.

    \b
    Example:
      complaint-ledger export TS-1 --out bundle-TS-1
      complaint-ledger export --from 2026-09-01T00:00+08:00 --to 2026-10-01T00:00+08:00 \\
        --out bundle-2026-09
    """
    begin, finish = parse_time(start, "--from"), parse_time(end, "--to")
    if not refs and (begin is None or finish is None):
        raise click.UsageError("name complaints (REF …) or a range (--from TIME --to TIME)")
    with open_reader(db) as ledger:
        chosen = list(refs)
        if begin is not None and finish is not None:
            chosen += [r for r in refs_received_between(ledger, begin, finish) if r not in refs]
        if not chosen:
            raise click.ClickException("no complaint was received in that range")
        done = export_bundle(ledger, chosen, out)
    click.echo(
        f"exported {plural(len(done.refs), 'complaint')} "
        f"({plural(done.events, 'event')}) to {out}, proven against the seal at position "
        f"{done.seal_position} (key {done.key_id})"
    )


@cli.command("verify-bundle")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--digest", type=click.Path(dir_okay=False, path_type=Path), help="A digest file.")
@click.option(
    "--evidence",
    envvar=EVIDENCE_ENV,
    type=click.Path(file_okay=False, path_type=Path),
    help="An evidence folder (sha256/ab/cdef…) whose files to check against the hashes the "
    "bundle lists (env LEDGER_EVIDENCE_DIR).",
)
@click.option(
    "--no-anchor",
    is_flag=True,
    help="Accept a check of the bundle's own seal only, when no digest is at hand.",
)
def verify_bundle_command(
    directory: Path, digest: Path | None, evidence: Path | None, no_anchor: bool
) -> None:
    """Verify an audit bundle offline, from its files and a digest only; with an evidence
    folder, also the evidence files the bundle lists (a changed file fails, a missing one is
    reported as not checked). Without --digest it exits 1 unless --no-anchor is given.

    \b
    Example:
      complaint-ledger verify-bundle bundle-TS-1 --digest ledger-digest-1200.json \\
        --evidence evidence
    """
    anchor = read_digest(digest) if digest else None
    report = verify_bundle(directory, anchor, evidence)
    if anchor is None and not no_anchor:
        # As ``verify``: checked against its own copy of the seal, a bundle proves only that
        # it is consistent, which a bundle rewritten and re-signed with any key also is.
        raise click.ClickException(
            "no trust anchor, so only the bundle's internal consistency was checked: a bundle "
            "rewritten and re-signed with another key would pass as well. Give --digest FILE "
            "(the digest the ledger's seal wrote), or --no-anchor to accept an internal check"
        )
    click.echo(
        f"bundle intact: {plural(len(report.refs), 'complaint')}, "
        f"{plural(report.events, 'event')}, proven against the seal at position "
        f"{report.seal_position} (key {report.key_id})"
    )
    if report.evidence is not None and report.evidence.listed:
        for line in evidence_lines(report.evidence, evidence):
            click.echo(line)
    if anchor is None:
        click.echo(
            f"no --digest given: trust this only if {report.key_id} is the ledger's seal key"
        )


def evidence_lines(report: EvidenceReport, folder: Path | None) -> list[str]:
    """What the check of the evidence files found: intact, and not checked (not a failure)."""
    lines = [f"evidence: {plural(len(report.checked), 'file')} of {len(report.listed)} intact"]
    why = "not found in " + str(folder) if folder is not None else "no --evidence folder given"
    lines += [
        f"evidence not checked ({why}): {e.ref} version {e.version} {e.kind} sha256 {e.sha256[:12]}"
        for e in report.missing
    ]
    return lines

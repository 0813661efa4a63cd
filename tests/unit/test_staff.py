"""The staff directory's rules: who may act in which role at which moment, proven how."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import JSONTranscoder

from ledger.domain.errors import (
    DirectoryRefused,
    IdentityNotProven,
    NotAuthorised,
    TokenRefused,
)
from ledger.domain.staff import StaffDirectory
from ledger.domain.values import ASSERTED, Actor, Method, Proof, Role, Stamp, Unit
from ledger.store.root import register_value_transcodings

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
HASH = "ab" * 32


def stamp(at: datetime = T0, who: str = "chen") -> Stamp:
    return Stamp(Actor(who, Role.LEADERSHIP), at, f"cmd-{at.isoformat()}")


def directory(*members: tuple[str, Role], login: str | None = None) -> StaffDirectory:
    book = StaffDirectory()
    book.add(stamp(), staff_id="chen", name="陈", unit=Unit.LEADERSHIP_GROUP, email=None,
             login=login, roles=(Role.LEADERSHIP,), effective_from=T0)  # fmt: skip
    for staff_id, role in members:
        book.add(stamp(), staff_id=staff_id, name=staff_id, unit=Unit.CUSTOMER_SERVICE,
                 email=None, login=None, roles=(role,), effective_from=T0)  # fmt: skip
    return book


def test_the_first_member_must_be_granted_leadership() -> None:
    book = StaffDirectory()

    with pytest.raises(DirectoryRefused, match="first member"):
        book.add(stamp(), staff_id="li", name="李", unit=Unit.CUSTOMER_SERVICE, email=None,
                 login=None, roles=(Role.CUSTOMER_SERVICE,), effective_from=T0)  # fmt: skip

    assert book.members == {}


def test_a_member_acts_in_a_role_held_when_it_happened_and_now() -> None:
    book = directory(("li", Role.CUSTOMER_SERVICE))

    actor = book.authorise(Actor("li", Role.CUSTOMER_SERVICE), ASSERTED, T0, T0)

    assert actor == Actor("li", Role.CUSTOMER_SERVICE, Method.ASSERTED)


def test_a_role_granted_later_does_not_cover_an_earlier_action() -> None:
    book = directory(("li", Role.CUSTOMER_SERVICE))
    book.grant(stamp(T0 + timedelta(days=2)), "li", Role.HANDLING_TEAM, T0 + timedelta(days=2))

    with pytest.raises(NotAuthorised, match="does not hold the role handling_team when it"):
        book.authorise(
            Actor("li", Role.HANDLING_TEAM), ASSERTED, T0 + timedelta(days=1), T0 + timedelta(3)
        )


def test_a_role_revoked_since_the_action_refuses_it_now() -> None:
    book = directory(("li", Role.CUSTOMER_SERVICE), ("wang", Role.HANDLING_TEAM))
    book.revoke(stamp(T0 + timedelta(days=2)), "li", Role.CUSTOMER_SERVICE, T0 + timedelta(2))

    with pytest.raises(NotAuthorised, match="does not hold the role customer_service now"):
        book.authorise(
            Actor("li", Role.CUSTOMER_SERVICE), ASSERTED, T0 + timedelta(1), T0 + timedelta(3)
        )


def test_someone_not_in_the_directory_is_refused() -> None:
    book = directory()

    with pytest.raises(NotAuthorised, match="wang is not in the staff directory"):
        book.authorise(Actor("wang", Role.LEADERSHIP), ASSERTED, T0, T0)


def test_the_last_leader_keeps_the_role() -> None:
    book = directory(("li", Role.CUSTOMER_SERVICE))

    with pytest.raises(DirectoryRefused, match="last leader"):
        book.revoke(stamp(), "chen", Role.LEADERSHIP, T0 + timedelta(days=1))


def test_asserted_writes_are_refused_once_authentication_is_required() -> None:
    book = directory(("li", Role.CUSTOMER_SERVICE))
    book.require_authentication(stamp(T0 + timedelta(days=1)))

    before = book.authorise(Actor("li", Role.CUSTOMER_SERVICE), ASSERTED, T0, T0)
    with pytest.raises(IdentityNotProven, match="requires authenticated writes"):
        book.authorise(Actor("li", Role.CUSTOMER_SERVICE), ASSERTED, T0, T0 + timedelta(days=2))

    assert before.method is Method.ASSERTED


def test_a_database_login_proves_its_own_member_only() -> None:
    book = directory(("li", Role.CUSTOMER_SERVICE), ("wang", Role.CUSTOMER_SERVICE))
    proof = Proof(Method.DATABASE, "li")

    actor = book.authorise(Actor("li", Role.CUSTOMER_SERVICE), proof, T0, T0)
    with pytest.raises(IdentityNotProven, match="'li' is li's; it cannot act as wang"):
        book.authorise(Actor("wang", Role.CUSTOMER_SERVICE), proof, T0, T0)
    with pytest.raises(IdentityNotProven, match="no staff member's login"):
        book.authorise(Actor("li", Role.CUSTOMER_SERVICE), Proof(Method.DATABASE, "x"), T0, T0)

    assert actor == Actor("li", Role.CUSTOMER_SERVICE, Method.DATABASE, "li")


def test_a_service_login_acts_for_any_member_and_is_recorded() -> None:
    book = directory(("li", Role.CUSTOMER_SERVICE))
    book.allow_service_login(stamp(), "callcentre")

    actor = book.authorise(
        Actor("li", Role.CUSTOMER_SERVICE), Proof(Method.DATABASE, "callcentre"), T0, T0
    )

    assert actor == Actor("li", Role.CUSTOMER_SERVICE, Method.DATABASE, "callcentre")


def test_a_token_proves_its_member_until_it_expires_or_is_revoked() -> None:
    book = directory(("li", Role.CUSTOMER_SERVICE))
    book.issue_token(stamp(), "li", HASH, T0 + timedelta(days=30))

    member = book.authenticate(HASH, T0 + timedelta(days=29))
    with pytest.raises(TokenRefused, match="expired"):
        book.authenticate(HASH, T0 + timedelta(days=30))
    book.revoke_tokens(stamp(T0 + timedelta(days=1)), "li", None)
    with pytest.raises(TokenRefused, match="revoked"):
        book.authenticate(HASH, T0 + timedelta(days=2))
    with pytest.raises(TokenRefused, match="not one the staff directory issued"):
        book.authenticate("cd" * 32, T0)

    assert member.id == "li"


def test_a_token_cannot_act_for_another_member() -> None:
    book = directory(("li", Role.CUSTOMER_SERVICE))

    with pytest.raises(IdentityNotProven, match="the token is li's; it cannot act as chen"):
        book.authorise(Actor("chen", Role.LEADERSHIP), Proof(Method.TOKEN, "ab12", "li"), T0, T0)


def test_the_directory_replays_to_the_same_state() -> None:
    book = directory(("li", Role.CUSTOMER_SERVICE))
    book.revoke(stamp(T0 + timedelta(1)), "li", Role.CUSTOMER_SERVICE, T0 + timedelta(days=1))
    book.issue_token(stamp(), "li", HASH, T0 + timedelta(days=30))

    copy = None
    for event in book.collect_events():
        copy = event.mutate(copy)

    assert copy is not None
    assert copy.members == book.members
    assert copy.tokens == book.tokens


def test_an_actor_stored_before_methods_were_recorded_reads_as_asserted() -> None:
    transcoder = JSONTranscoder()
    register_value_transcodings(transcoder)
    stored = b'{"actor":{"_type_":"actor","_data_":{"id":"li","role":"customer_service"}}}'

    decoded = transcoder.decode(stored)

    assert decoded["actor"] == Actor("li", Role.CUSTOMER_SERVICE, Method.ASSERTED, None)


def test_an_actor_keeps_its_method_and_credential_through_the_store() -> None:
    transcoder = JSONTranscoder()
    register_value_transcodings(transcoder)
    actor = Actor("li", Role.CUSTOMER_SERVICE, Method.DATABASE, "li_login")

    assert transcoder.decode(transcoder.encode({"actor": actor}))["actor"] == actor

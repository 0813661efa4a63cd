"""The kinds of value a command's fields hold, and the checks every one of them passes.

Each kind is checked here once, so the command line, JSON Lines (with or without
``--bulk``) and the importers all refuse the same things with the same message. What each
field allows is listed in docs/commands.md.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictInt,
    StringConstraints,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, TzInfo

from ledger.domain.calendar import FIRST_YEAR, LAST_YEAR
from ledger.domain.text import LINES_FORBID, ONE_LINE_FORBIDS, control_problem

MAX_CONTENT = 10_000
MAX_TEXT = 4_000

# Times are accepted within the years the working-day calendar covers, counted in the
# time zone of case references (TS-YYYYMMDD-NNNN), so every reference has a four-digit year.
BOUNDS_ZONE = ZoneInfo("Asia/Shanghai")
# In UTC: comparing with a ZoneInfo time costs a look-up of its offset every time.
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=BOUNDS_ZONE).astimezone(UTC)
LATEST = datetime(LAST_YEAR + 1, 1, 1, tzinfo=BOUNDS_ZONE).astimezone(UTC)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _one_line(value: str) -> str:
    if ONE_LINE_FORBIDS.search(value):
        raise ValueError(control_problem(value))
    return value


def _lines(value: str) -> str:
    if LINES_FORBID.search(value):
        raise ValueError(control_problem(value, lines=True))
    return value


def _time_text(value: Any) -> Any:
    """Only an ISO 8601 string (or a datetime built in code) is a time: pydantic would read
    a number, or a string of digits, as seconds since 1970 without a word."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(
            "must be an ISO 8601 time in a string, e.g. 2026-09-24T16:00:00+08:00, "
            f"not {_kind(value)}"
        )
    value = value.strip()
    if value[4:5] == "-":  # YYYY-…: a date, the common case, decided without a regex
        return value
    if _NUMBER.fullmatch(value):
        raise ValueError(
            f"{value!r} is a number; give an ISO 8601 time, e.g. 2026-09-24T16:00:00+08:00"
        )
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"
    return type(value).__name__


def _within_bounds(value: datetime) -> datetime:
    if FIRST_YEAR < value.year < LAST_YEAR:
        return value  # the year settles it, whatever the offset, without converting times
    if value < EARLIEST:
        raise ValueError(
            f"{value.isoformat()} is before {FIRST_YEAR}-01-01 (Shanghai time), "
            "the earliest time the ledger records"
        )
    if value >= LATEST:
        raise ValueError(
            f"{value.isoformat()} is after {LAST_YEAR}-12-31 (Shanghai time), "
            "the latest time the ledger records"
        )
    return value


Ref = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
]
CommandId = Annotated[
    str, StringConstraints(min_length=1, max_length=128), AfterValidator(_one_line)
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_one_line),
]
# A one-line value longer than a name: an e-mail address or a webhook's URL.
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(_one_line),
]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT),
    AfterValidator(_lines),
]
Content = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CONTENT),
    AfterValidator(_lines),
]
Address = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_one_line)]
Document = Annotated[
    str, StringConstraints(min_length=1, max_length=100_000), AfterValidator(_lines)
]


# A phone or ID number typed by a Chinese input method is accepted and recorded as typed
# (the blind index folds it, ``fold_width``): digits, letters, ``＋``, ``（）``, ``－`` of the
# full-width block, the ideographic space and dashes. The patterns below admit those forms
# as well as the ASCII ones, and nothing else (``tests/unit/test_fields.py`` checks, character
# by character, that they accept what ``fold_width`` and the ASCII pattern accept), so the
# same pattern checks the value and is shown in the API's schema.
_DASHES = "\\-\uff0d\u2010-\u2015\u2212\ufe63"
_DIGITS = "0-9\uff10-\uff19"
PHONE_PATTERN = r"^\+?[0-9][0-9 ()-]{2,30}$"
WIDE_PHONE_PATTERN = f"^[+\uff0b]?[{_DIGITS}][{_DIGITS} \u3000()\uff08\uff09{_DASHES}]{{2,30}}$"
ID_NUMBER_PATTERN = r"^[0-9A-Za-z]{4,32}$"
WIDE_ID_NUMBER_PATTERN = f"^[{_DIGITS}A-Za-z\uff21-\uff3a\uff41-\uff5a]{{4,32}}$"
_PHONE_NOTE = (
    " (full-width digits, '＋', '（）' and '－', the ideographic space and dashes are accepted"
    " as the half-width characters they stand for)"
)
_ID_NUMBER_NOTE = " (full-width digits and letters are accepted as their half-width forms)"


def _matches(shown: str, wide: str, note: str) -> tuple[AfterValidator, FieldInfo]:
    """The check of ``wide`` and its pattern in the JSON schema. A refusal quotes the
    half-width pattern ``shown`` (the one people read); a value that holds characters
    outside ASCII is told which full-width ones are accepted (``note``)."""
    compiled = re.compile(wide)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError(
                "string_pattern_mismatch",
                "String should match pattern '{pattern}'" + ("" if value.isascii() else note),
                {"pattern": shown},
            )
        return value

    return AfterValidator(check), Field(json_schema_extra={"pattern": wide})


Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    *_matches(PHONE_PATTERN, WIDE_PHONE_PATTERN, _PHONE_NOTE),
]
IdNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    *_matches(ID_NUMBER_PATTERN, WIDE_ID_NUMBER_PATTERN, _ID_NUMBER_NOTE),
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    AfterValidator(_one_line),
]
Money = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]


@functools.lru_cache(maxsize=256)
def _fixed_zone(offset: timedelta) -> timezone:
    return timezone(offset)


def _shared_zone(value: datetime) -> datetime:
    """The same time, in the one zone object kept for its offset. pydantic makes a zone
    object for every string it reads, and two times in different zone objects are compared
    by asking each its offset: about 9 times slower than in the same object, and the time
    rule compares a command's time with every earlier action's (docs/performance.md, the
    import writer's third pass). Only fixed offsets: a named zone (Asia/Shanghai, with its
    history of offsets) is kept. The time, its ISO form, its fingerprint and the stored
    bytes are the same (``tests/unit/test_fields_zone.py``)."""
    zone = value.tzinfo
    if type(zone) is TzInfo or type(zone) is timezone:
        offset = value.utcoffset()
        assert offset is not None  # an aware time (``AwareDatetime`` checked it)
        return value.replace(tzinfo=_fixed_zone(offset))
    return value


Moment = Annotated[
    AwareDatetime,
    BeforeValidator(_time_text),
    AfterValidator(_within_bounds),
    AfterValidator(_shared_zone),
]
Year = Annotated[StrictInt, Field(ge=FIRST_YEAR, le=LAST_YEAR)]


def _due_text(value: Any) -> Any:
    """A date alone (``2026-12-31``) is due at the end of that day, Shanghai time: the next
    local midnight; anything else is a time as ``Moment`` takes it."""
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError as e:
            raise ValueError(f"{value.strip()!r} is not a date: {e}") from None
        if day.year > LAST_YEAR:  # and 9999-12-31 has no next day to be due at
            raise ValueError(
                f"{value.strip()!r} is after {LAST_YEAR}-12-31 (Shanghai time), "
                "the latest time the ledger records"
            )
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BOUNDS_ZONE)
    return _time_text(value)


def _improvement_id(value: Any) -> Any:
    """An improvement's id as given on the command line or in JSON: ``1`` or ``"1"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# When an improvement measure is due: a date (the end of that day in Shanghai) or a time.
Due = Annotated[AwareDatetime, BeforeValidator(_due_text), AfterValidator(_within_bounds)]
ImprovementId = Annotated[
    str,
    BeforeValidator(_improvement_id),
    StringConstraints(strip_whitespace=True, pattern=r"^[1-9][0-9]{0,5}$"),
]

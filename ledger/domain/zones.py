"""The policy's time zone: an IANA name ("Asia/Shanghai") or a fixed offset ("+08:00").

A fixed offset is served by the IANA ``Etc/GMT`` zone of the same offset (whose sign is
inverted by POSIX convention: ``Etc/GMT-8`` is eight hours *ahead* of UTC), so every zone is
a ``ZoneInfo`` from the tz database and no offset arithmetic is written by hand. The tz
database has such zones for whole hours from -12:00 to +14:00 only; for any other offset
the zone's IANA name (e.g. ``Asia/Kolkata`` for +05:30) must be used.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


def zone_named(name: str) -> ZoneInfo:
    """The zone a policy names; ``ValueError`` with the reason if there is none."""
    offset = _OFFSET.fullmatch(name)
    if offset is not None:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3))
        ahead = sign == "+"
        if minutes != 0 or hours > (14 if ahead else 12):
            raise ValueError(
                f"fixed offset {name!r} is not supported: an offset must be whole hours "
                "from -12:00 to +14:00; give the zone's IANA name instead"
            )
        if hours == 0:
            return ZoneInfo("Etc/GMT")
        return ZoneInfo(f"Etc/GMT{'-' if ahead else '+'}{hours}")
    if name.startswith(("+", "-")):
        raise ValueError(f"unknown time zone {name!r}: write a fixed offset as +HH:MM")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r}") from e

"""Which characters text may hold, and how a NUL already stored is shown.

Control characters (C0, DEL and C1) never belong in a name, a category or an id: they
corrupt tables and terminals, and PostgreSQL cannot store NUL in a text column at all.
Free text that may span lines (a complaint's content, a reason, a note, a document) may
hold line breaks and tabs, and nothing else of the kind. A lone surrogate is not a
character and cannot be encoded as UTF-8.
"""

from __future__ import annotations

import re

# What an event written before these checks existed shows instead of a NUL, in every
# read model on both backends: the Unicode replacement character.
NUL_SHOWN_AS = "\ufffd"

_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
# ``search`` of these finds the first character a one-line text, or a text of several lines,
# may not hold (None when there is none: the quick test before a message is worked out).
ONE_LINE_FORBIDS = re.compile(f"[\t\n\r{_CONTROLS}]")
LINES_FORBID = re.compile(f"[{_CONTROLS}]")


def control_problem(text: str, lines: bool = False) -> str | None:
    """Why ``text`` cannot be recorded (naming the first bad character), or None.

    ``lines`` allows tab, line feed and carriage return (free text of several lines).
    """
    found = (LINES_FORBID if lines else ONE_LINE_FORBIDS).search(text)
    if found is None:
        return None
    char = found.group()
    where = f"at character {found.start() + 1}"
    if "\ud800" <= char <= "\udfff":
        return f"U+{ord(char):04X} {where} is not a character (a lone surrogate)"
    if char in "\t\n\r":
        return (
            f"holds a line break or tab (U+{ord(char):04X}) {where}; "
            "only free text (content, reasons, notes, findings) may span lines"
        )
    name = _CONTROL_NAMES.get(char)
    code = f"U+{ord(char):04X}" + (f" ({name})" if name else "")
    return f"holds the control character {code} {where}, which is not allowed"


# Unicode gives control characters no names; these are the ones people know.
_CONTROL_NAMES = {"\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\x1b": "ESC", "\x7f": "DEL"}


def shown_without_nul(text: str) -> str:
    """``text`` as a read model keeps it: any NUL replaced by ``NUL_SHOWN_AS``."""
    return text.replace("\x00", NUL_SHOWN_AS)


# What Chinese input methods type inside phone numbers, ID numbers and references, and
# nothing more: the full-width ASCII block (U+FF01-U+FF5E, each its ASCII character plus
# 0xFEE0), the ideographic space, and dashes (hyphen, non-breaking hyphen, figure, en and em
# dashes, horizontal bar, minus sign, small hyphen-minus). Not NFKC: it also turns circled,
# superscript, subscript and mathematical digits, ``™``, Roman numerals and ``㎏`` into ASCII,
# so ``①③⑧…`` would pass as a phone and match the real ``138…`` in the blind index.
_FOLDS = (
    {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
    | dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"), ord("-"))
    | {0x3000: ord(" ")}
)


def fold_width(text: str) -> str:
    """``text`` as a half-width keyboard types it: full-width digits, letters, ``＋``, ``－``
    and the ideographic space become ASCII, and the dashes above become ``-``; every other
    character is left as it is. For comparing identifiers only; what was typed is what is
    recorded."""
    return text.translate(_FOLDS)

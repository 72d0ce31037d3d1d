"""Checks on campus identifiers."""

from __future__ import annotations

import datetime as dt
import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")


def normalize_national_id(value: str) -> str:
    return value.strip().upper()


def is_valid_national_id(value: str) -> bool:
    """An 18-character resident identity number (GB 11643-1999): format, birth date, check digit."""
    value = normalize_national_id(value)
    if not _ID_PATTERN.match(value):
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def same_name(a: str, b: str) -> bool:
    """Names compare without surrounding or inner spaces, case-insensitively (for Latin names)."""
    return "".join(a.split()).casefold() == "".join(b.split()).casefold()

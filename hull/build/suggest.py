""""Did you mean ...?" hints for misspelled instructions, flags and option values.

Docker picks the closest candidate within an edit distance of two; so do we, so that
error messages read the same.
"""

from __future__ import annotations

from collections.abc import Iterable


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions all cost one)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _match_case(option: str, typed: str) -> str:
    if typed == typed.lower():
        return option.lower()
    if typed == typed.upper():
        return option.upper()
    return option


def closest(value: str, options: Iterable[str], case_sensitive: bool = True) -> str | None:
    """The option closest to ``value`` (distance < 3), or ``None`` (also on exact match)."""
    typed = value if case_sensitive else value.lower()
    best: str | None = None
    best_distance = 3
    for option in sorted(options):
        candidate = option if case_sensitive else option.lower()
        if candidate == typed:
            return None
        distance = levenshtein(typed, candidate)
        if distance < best_distance:
            best = candidate if case_sensitive else _match_case(candidate, value)
            best_distance = distance
    return best


def with_suggestion(message: str, value: str, options: Iterable[str],
                    case_sensitive: bool = True) -> str:
    """``message`` plus `` (did you mean X?)`` when a close option exists."""
    match = closest(value, options, case_sensitive)
    return f"{message} (did you mean {match}?)" if match else message

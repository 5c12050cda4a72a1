"""Random container names in Docker's style: ``adjective_surname`` (``brave_lovelace``).

Surnames are scientists and engineers; on a collision a digit is appended, as Docker does
on retries.
"""

from __future__ import annotations

import os
import re

ADJECTIVES = (
    "admiring", "agile", "amazing", "awesome", "blissful", "bold", "brave", "busy", "calm",
    "charming", "clever", "cool", "dazzling", "determined", "eager", "ecstatic", "elastic",
    "elated", "elegant", "epic", "exciting", "fervent", "focused", "friendly", "frosty",
    "funny", "gallant", "gifted", "goofy", "gracious", "happy", "hopeful", "hungry",
    "inspiring", "intelligent", "jolly", "jovial", "keen", "kind", "laughing", "loving",
    "lucid", "magical", "modest", "musing", "mystifying", "nervous", "nice", "nifty",
    "nostalgic", "optimistic", "peaceful", "pensive", "practical", "priceless", "quirky",
    "quizzical", "relaxed", "reverent", "romantic", "serene", "sharp", "silly", "sleepy",
    "stoic", "strange", "sweet", "tender", "thirsty", "trusting", "upbeat", "vibrant",
    "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous",
    "zen",
)

SURNAMES = (
    "agnesi", "albattani", "archimedes", "babbage", "banach", "bardeen", "bartik", "bell",
    "bhabha", "blackwell", "bohr", "boole", "borg", "bose", "brahmagupta", "brattain",
    "burnell", "cannon", "carson", "cerf", "chandrasekhar", "clarke", "curie", "darwin",
    "dijkstra", "dirac", "easley", "einstein", "euclid", "euler", "faraday", "fermat",
    "fermi", "feynman", "franklin", "galileo", "gauss", "goldberg", "goodall", "hamilton",
    "hawking", "heisenberg", "hertz", "hodgkin", "hopper", "hypatia", "jackson", "jemison",
    "johnson", "kepler", "khorana", "knuth", "kowalevski", "lamarr", "leakey", "leavitt",
    "lovelace", "maxwell", "mayer", "mcclintock", "meitner", "mendel", "mirzakhani", "morse",
    "napier", "newton", "noether", "noyce", "pascal", "pasteur", "perlman", "planck",
    "poincare", "ramanujan", "ritchie", "rosalind", "sammet", "shannon", "shockley", "sinoussi",
    "tesla", "thompson", "torvalds", "turing", "volhard", "wilbur", "wiles", "williams",
    "wozniak", "wright", "yalow", "yonath",
)

#: Docker's rule for user-chosen names.
VALID_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def _pick(options: tuple[str, ...]) -> str:
    # os.urandom rather than ``secrets``: that module's imports cost a few ms per ``run``
    return options[int.from_bytes(os.urandom(4), "big") % len(options)]


def random_name(retry: int = 0) -> str:
    """A fresh ``adjective_surname``; after a collision, ``retry`` > 0 appends a digit."""
    name = f"{_pick(ADJECTIVES)}_{_pick(SURNAMES)}"
    return f"{name}{os.urandom(1)[0] % 10}" if retry else name

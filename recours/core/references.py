"""Short human-friendly references with no look-alike characters (0/O, 1/I/L)."""

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GROUP_LENGTH = 4


def new_reference(prefix: str, groups: int = 2) -> str:
    """Return e.g. "RC-7KQ4-M9XP": 31**8, about 8.5e11, possibilities."""
    parts = [
        "".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH))
        for _ in range(groups)
    ]
    return "-".join([prefix, *parts])


def normalize_reference(text: str, prefix: str, groups: int = 2) -> str:
    """Accept "rc 7kq4 m9xp" or "RC7KQ4M9XP" as typed; return the canonical form."""
    compact = re.sub(r"[^0-9A-Z]", "", text.upper())
    # Strip the prefix only when it is there: "RC" may also start the code itself.
    if len(compact) == len(prefix) + GROUP_LENGTH * groups and compact.startswith(
        prefix
    ):
        compact = compact[len(prefix) :]
    if len(compact) != GROUP_LENGTH * groups:
        return text.strip().upper()
    chunks = [
        compact[i : i + GROUP_LENGTH] for i in range(0, len(compact), GROUP_LENGTH)
    ]
    return "-".join([prefix, *chunks])

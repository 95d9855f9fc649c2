"""The password hasher: argon2id at the cost the ``PASSWORD_HASH_*`` settings choose.

Made in one place, ``set_cost``: ``create_app`` calls it with the settings' cost, and a script
without an app keeps the default. ``pipeline.accounts`` hashes and checks every password with
``hasher()``. Apart from accounts so that the app, which every ``sangjog`` command makes, sets
the cost importing argon2 alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher


@dataclass(frozen=True)
class HashCost:
    """What hashing one password costs: argon2id's passes, memory and lanes. The default is the
    second choice of RFC 9106 (3 passes over 64 MiB in 4 lanes). Each hash keeps the cost it was
    made with, so hashes made at another cost still verify, and ``accounts.authenticate`` hashes
    a password again at the new cost when its user next logs in."""

    time_cost: int = 3
    memory_mb: int = 64
    parallelism: int = 4

    def __post_init__(self) -> None:
        # argon2's own limits (RFC 9106, 3.1): at least one pass and lane, 8 KiB per lane.
        if not (self.time_cost >= 1 and 1 <= self.parallelism <= self.memory_mb * 1024 // 8):
            raise ValueError(f"argon2 needs at least 1 pass, 1 lane and 8 KiB per lane, not "
                             f"time cost {self.time_cost}, {self.memory_mb} MB and "
                             f"parallelism {self.parallelism}")


_hasher: PasswordHasher


def set_cost(cost: HashCost) -> None:
    """Hash passwords at ``cost`` in this process from now on."""
    global _hasher
    _hasher = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_mb * 1024,
                             parallelism=cost.parallelism)


def hasher() -> PasswordHasher:
    """The hasher at the cost set last."""
    return _hasher


set_cost(HashCost())

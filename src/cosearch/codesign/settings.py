"""The budgets of a co-design run checked in one place (the driver, ``cosearch codesign`` and
``cosearch demo``), messages worded as :func:`cosearch.mappers.settings.setting_name` says."""

from __future__ import annotations

from ..errors import CosearchError
from ..limits import check_int
from ..mappers.settings import setting_name


def check_budgets(*, hw_budget: int, hw_batch: int, mapper_budget: int, seed: int = 0, cli: bool = False) -> None:
    """Raise :class:`CosearchError` for a bad budget or seed of a co-design run; ``cli`` words messages by
    flag (``--hw-budget``). Each is at most :data:`cosearch.limits.INT_MAX`."""
    def name(flag: str) -> str:
        return setting_name(flag, cli=cli)

    if hw_budget < 1:
        raise CosearchError(f"{name('hw-budget')} must be at least 1 hardware point, got {hw_budget}")
    if hw_batch < 1:
        raise CosearchError(f"{name('hw-batch')} must be at least 1, got {hw_batch}")
    if mapper_budget < 1:
        raise CosearchError(f"{name('mapper-budget')} must be a positive number of evaluations, got {mapper_budget}")
    if seed < 0:
        raise CosearchError(f"{name('seed')} must be >= 0, got {seed}")
    for flag, value in (("hw-budget", hw_budget), ("hw-batch", hw_batch), ("mapper-budget", mapper_budget),
                        ("seed", seed)):
        check_int(value, name(flag))

WARM_START_POINTS = 2
"""Nearest earlier hardware points whose best mapping of a layer seeds that layer's search on a new point
(:meth:`Codesign._warm_mappings`; 0 = every search starts cold)."""

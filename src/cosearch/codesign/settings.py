"""The budgets of a co-design run checked in one place (the driver, ``cosearch codesign`` and
``cosearch demo``), messages worded as :func:`cosearch.mappers.settings.setting_name` says."""

from __future__ import annotations

from ..errors import CosearchError
from ..mappers.settings import setting_name


def check_budgets(*, hw_budget: int, hw_batch: int, mapper_budget: int, cli: bool = False) -> None:
    """Raise :class:`CosearchError` for a bad budget of a co-design run; ``cli`` words messages by flag
    (``--hw-budget``)."""
    def name(flag: str) -> str:
        return setting_name(flag, cli=cli)

    if hw_budget < 1:
        raise CosearchError(f"{name('hw-budget')} must be at least 1 hardware point, got {hw_budget}")
    if hw_batch < 1:
        raise CosearchError(f"{name('hw-batch')} must be at least 1, got {hw_batch}")
    if mapper_budget < 1:
        raise CosearchError(f"{name('mapper-budget')} must be a positive number of evaluations, got {mapper_budget}")

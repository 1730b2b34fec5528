"""The settings of a mapping run checked in one place, each bad one a one-line :class:`CosearchError`
worded for Python callers (``time limit``) or, with ``cli``, by the command-line flag (``--time-limit``)."""

from __future__ import annotations

import math

from ..errors import CosearchError
from ..limits import check_float, check_int
from .base import OBJECTIVES


def setting_name(flag: str, *, cli: bool) -> str:
    """How a message names a setting: its flag ``--time-limit`` for the CLI, else ``time limit``."""
    return f"--{flag}" if cli else flag.replace("-", " ")



def check_settings(*, optimizer: str, objective: str, budget: int | None, time_limit: float | None, jobs: int,
                   seed: int, cli: bool = False) -> None:
    """Raise :class:`CosearchError` for a bad setting of :func:`~cosearch.mappers.network.map_network`;
    ``cli`` words messages by flag (``--budget``)."""
    def name(flag: str) -> str:
        return setting_name(flag, cli=cli)

    if objective not in OBJECTIVES:
        flag = "--objective; " if cli else ""
        raise CosearchError(f"unknown objective {objective!r} ({flag}choose from {', '.join(OBJECTIVES)})")
    if budget is not None and (isinstance(budget, bool) or (isinstance(budget, float) and not math.isfinite(budget))
                               or int(budget) != budget
                               or budget <= 0):
        raise CosearchError(f"{name('budget')} must be a positive number of evaluations per layer, got {budget}")
    if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
        raise CosearchError(f"{name('time-limit')} must be a positive number of seconds per layer, got {time_limit:g}")
    if time_limit is not None:
        check_float(time_limit, name("time-limit"), low_open=True)
    if jobs < 1:
        raise CosearchError(f"{name('jobs')} must be at least 1, got {jobs}")
    if seed < 0:
        raise CosearchError(f"{name('seed')} must be >= 0, got {seed}")
    for flag, value in (("budget", budget), ("jobs", jobs), ("seed", seed)):
        if value is not None:
            check_int(value, name(flag))
    check_optimizer(optimizer)


def check_optimizer(name: str) -> None:
    """Raise :class:`CosearchError` if ``name`` is not a registered optimizer or cannot be imported."""
    from .layer import optimizer_class

    try:
        optimizer_class(name)  # unknown name: CosearchError listing the names
    except (ImportError, AttributeError) as err:
        raise CosearchError(f"optimizer {name!r} is not available ({type(err).__name__}: {err})") from None

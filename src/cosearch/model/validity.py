"""One user-given mapping checked against its layer and arch, refused with the reasons in numbers.

``cosearch eval`` and the Timeloop export share this check, so a mapping either fits (and is costed or
written) or is refused with the same one-line message by both."""

from __future__ import annotations

from ..arch.spec import Arch
from ..errors import CosearchError
from ..mapping.checks import check_factors, explain_invalid
from ..mapping.mapping import Mapping, Mappings
from ..mapping.vector import blocked_view
from ..workload.layer import Layer
from .evaluate import Costs, evaluate


def require_valid(arch: Arch, layer: Layer, mapping: Mapping | Mappings, source: str, *,
                  breakdown: bool = False, factorization: str = "perfect",
                  max_padding: float | None = None) -> tuple[Mappings, Costs]:
    """``mapping`` (readable, or a one-row batch) as a one-row batch for ``arch`` with its costs
    (per-level breakdown on request). Raises :class:`CosearchError` naming ``source``: level names the
    arch does not have, factors that do not multiply to the layer's dimensions (under ``"imperfect"``
    ``factorization``: that under-cover them or pass the padding cap ``max_padding``), spatial factors
    beyond the mesh, or tiles that overflow a level (with the words needed and held). On an arch with a
    block MAC the factors are those of the blocked dims (:func:`~cosearch.mapping.vector.blocked_view`)."""
    batch = mapping if isinstance(mapping, Mappings) else Mappings.from_list([mapping], arch, source=source)
    if len(batch) != 1:
        raise CosearchError(f"{source}: expected one mapping, got a batch of {len(batch)}")
    view_arch, view_layer = blocked_view(arch, layer)  # a block MAC's mappings factor the blocked dims
    check_factors(batch, view_layer, source, factorization=factorization, max_padding=max_padding)
    options = {"factorization": factorization} if factorization != "perfect" else {}
    costs = evaluate(arch, layer, batch, breakdown=breakdown, **options)
    if not bool(costs.valid[0]):
        raise CosearchError(explain_invalid(view_arch, view_layer, batch, costs, source))
    return batch, costs

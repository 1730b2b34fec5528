"""A layer is one 7-dimensional conv loop nest (plus groups); a network is a list of layers with counts."""

from __future__ import annotations

import math
from typing import Iterator

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..dims import DIMS
from ..errors import CosearchError
from ..limits import INT_MAX, layer_work, work_error


class Layer(BaseModel):
    """One conv-shaped layer in Timeloop's naming.

    ``P``/``Q`` are output width/height; ``R``/``S`` filter width/height; ``C`` and ``K`` are channels
    *per group*; ``G`` groups (depthwise convs: ``G`` = channels, ``C`` = ``K`` = 1; attention: heads).
    ``count`` is how many times the identical layer occurs in its network (repeat count).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "layer"
    N: int = Field(1, ge=1, le=INT_MAX)
    G: int = Field(1, ge=1, le=INT_MAX)
    K: int = Field(1, ge=1, le=INT_MAX)
    C: int = Field(1, ge=1, le=INT_MAX)
    P: int = Field(1, ge=1, le=INT_MAX)
    Q: int = Field(1, ge=1, le=INT_MAX)
    R: int = Field(1, ge=1, le=INT_MAX)
    S: int = Field(1, ge=1, le=INT_MAX)
    Wstride: int = Field(1, ge=1, le=INT_MAX)
    Hstride: int = Field(1, ge=1, le=INT_MAX)
    Wdilation: int = Field(1, ge=1, le=INT_MAX)
    Hdilation: int = Field(1, ge=1, le=INT_MAX)
    count: int = Field(1, ge=1, le=INT_MAX)

    @field_validator("name")
    @classmethod
    def _name_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("layer name must not be empty")
        return value

    @model_validator(mode="after")
    def _work_fits(self) -> "Layer":
        message = work_error(self.work)
        if message:
            raise ValueError(message)
        return self

    @property
    def work(self) -> int:
        """:func:`cosearch.limits.layer_work`: bounds every count the cost model forms for the layer
        (repeats included); at most :data:`cosearch.limits.INT_MAX`."""
        return layer_work(self.dims, self.Wstride, self.Wdilation, self.Hstride, self.Hdilation, self.count)

    @property
    def dims(self) -> tuple[int, ...]:
        """Sizes in :data:`cosearch.dims.DIMS` order ``(N, G, K, C, P, Q, R, S)``."""
        return tuple(getattr(self, d) for d in DIMS)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one instance of the layer."""
        return math.prod(self.dims)

    @property
    def input_width(self) -> int:
        """W = (P-1)·Wstride + (R-1)·Wdilation + 1."""
        return (self.P - 1) * self.Wstride + (self.R - 1) * self.Wdilation + 1

    @property
    def input_height(self) -> int:
        """H = (Q-1)·Hstride + (S-1)·Hdilation + 1."""
        return (self.Q - 1) * self.Hstride + (self.S - 1) * self.Hdilation + 1

    @property
    def weight_words(self) -> int:
        return self.G * self.K * self.C * self.R * self.S

    @property
    def input_words(self) -> int:
        return self.N * self.G * self.C * self.input_height * self.input_width

    @property
    def output_words(self) -> int:
        return self.N * self.G * self.K * self.P * self.Q

    def shape_key(self) -> tuple[int, ...]:
        """Everything that determines the layer's costs (name and count excluded)."""
        return self.dims + (self.Wstride, self.Hstride, self.Wdilation, self.Hdilation)

    def shape_key_text(self) -> str:
        """:meth:`shape_key` as a study stores it: ``N x G x K x C x P x Q x R x S x Wstride x Hstride x
        Wdilation x Hdilation`` joined by ``x`` (``1x1x64x64x56x56x3x3x1x1x1x1``)."""
        return "x".join(map(str, self.shape_key()))

    @classmethod
    def from_shape_key(cls, name: str, shape_key: str) -> Layer:
        """The layer ``name`` (count 1) of a stored :meth:`shape_key_text`; :class:`CosearchError` if it
        is not twelve ``x``-separated integers."""
        keys = list(DIMS) + ["Wstride", "Hstride", "Wdilation", "Hdilation"]
        try:
            values = [int(v) for v in str(shape_key).split("x")]
        except ValueError:
            values = []
        if len(values) != len(keys):
            raise CosearchError(f"layer {name}: unreadable shape key {shape_key!r}")
        return cls(name=name, **dict(zip(keys, values)))

    def shape_text(self) -> str:
        """Compact ``K=64 C=64 P=56 ...`` form listing the non-default fields."""
        parts = [f"{d}={getattr(self, d)}" for d in DIMS if getattr(self, d) != 1]
        for f in ("Wstride", "Hstride", "Wdilation", "Hdilation"):
            if getattr(self, f) != 1:
                parts.append(f"{f}={getattr(self, f)}")
        return " ".join(parts) or "1x1"


class ElementOp(BaseModel):
    """An operation that is not a matrix product (softmax, a norm, rotary embedding, an activation, a
    residual add, an embedding lookup): listed with its size, never costed by the model (no MACs).

    ``elements`` is how many output elements one instance computes; ``dram_words`` the words it moves
    if it reads each input once from DRAM and writes its output once (16-bit words, one instance);
    ``weight_words`` the parameters it owns (an embedding table; 0 for the others, whose few scale
    and bias words are not counted). ``count`` repeats it as :attr:`Layer.count` does; ``phase`` names
    the :class:`Phase` it belongs to (``None`` for a network without phases).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    op: str
    elements: int = Field(ge=0)
    dram_words: int = Field(ge=0)
    weight_words: int = Field(0, ge=0)
    count: int = Field(1, ge=1)
    phase: str | None = None


class Phase(BaseModel):
    """One phase of an LLM workload (``prefill`` or ``decode``): which layers it runs and how many
    tokens one pass of them processes (prefill: batch × prompt length; decode: batch, one new token
    per sequence). Per-token figures divide the phase's totals by ``tokens``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    tokens: int = Field(ge=1)
    layers: list[str]


class Network(BaseModel):
    """An ordered list of unique layers, each with its repeat ``count``.

    ``ops`` (the operations that are not matrix products) and ``phases`` are optional metadata, given
    by the LLM and vision-transformer builders; they are ``None`` for every other network and change
    none of its costs.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    layers: list[Layer]
    description: str = ""
    ops: list[ElementOp] | None = None
    phases: list[Phase] | None = None

    def phase_of(self, layer_name: str) -> str | None:
        """The name of the phase whose layers include ``layer_name`` (``None``: no phases, or none has it)."""
        for phase in self.phases or ():
            if layer_name in phase.layers:
                return phase.name
        return None

    @property
    def macs(self) -> int:
        """Total MACs counting repeats."""
        return sum(layer.macs * layer.count for layer in self.layers)

    @property
    def num_layers(self) -> int:
        """Number of layers counting repeats."""
        return sum(layer.count for layer in self.layers)

    def __iter__(self) -> Iterator[Layer]:  # type: ignore[override]
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def layer(self, name: str) -> Layer:
        """The layer called ``name`` (raises ``KeyError`` listing the names if absent)."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r} in {self.name}; layers: {', '.join(l.name for l in self.layers)}")


def deduplicate(name: str, layers: list[Layer], description: str = "") -> Network:
    """Merge layers of identical shape into one entry whose ``count`` is the sum of theirs.

    The first occurrence keeps its name and position.
    """
    merged: dict[tuple[int, ...], Layer] = {}
    for layer in layers:
        key = layer.shape_key()
        if key in merged:
            first = merged[key]
            count = first.count + layer.count
            message = work_error(first.work // first.count * count)
            if message:
                raise CosearchError(f"{name}: layer {first.name} (repeated {count} times): {message}")
            merged[key] = first.model_copy(update={"count": count})
        else:
            merged[key] = layer
    return Network(name=name, layers=list(merged.values()), description=description)

"""The fuzz harness (issue #19): malformed and extreme inputs of every file format and numeric option,
run through the library entry points and the command line; each must end in a clean
:class:`~cosearch.errors.CosearchError` or a valid result with finite costs.

:mod:`.seeds` (valid inputs), :mod:`.strategies` (the Hypothesis generators, one per input kind),
:mod:`.targets` (the entry point of each kind), :mod:`.harness` (running and judging an input,
counting outcomes). Used by ``tests/fuzz/`` and ``benchmarks/fuzz.py``; needs Hypothesis (the
``test`` extra). Not part of the stable API.
"""

"""Mapping search: optimizers with one ask/tell interface, and the per-layer mapping driver."""

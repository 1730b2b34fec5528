"""The outer loop: hardware search, objectives, baselines, bounds and the co-design driver."""

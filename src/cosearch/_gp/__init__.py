"""Shared Gaussian-process, acquisition and discrete-pool optimisation code (private: used by both BO optimizers).

- :mod:`.gp`: GP hyperparameter fitting and the posterior mean and standard deviation;
- :mod:`.acquisition`: LCB, log-EI and log-EHVI of posterior summaries, and their weighting by a
  feasibility model (``"log"`` or ``"penalty"``);
- :mod:`.feasibility`: the logistic model of ``P(feasible)`` for constraints learned from evaluations;
- :mod:`.optimize`: scoring a discrete candidate pool, local search on the acquisition, batch selection;
- :mod:`.pareto`: non-dominated sorting and expected hypervolume improvement.

Nothing here knows about mappings or hardware: inputs are feature arrays and candidate batches the
callers describe. It imports only NumPy, SciPy, torch, BoTorch and GPyTorch (the last three lazily).
"""

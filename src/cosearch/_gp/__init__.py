"""Shared Gaussian-process, acquisition and discrete-pool optimisation code (private: used by both BO optimizers)."""

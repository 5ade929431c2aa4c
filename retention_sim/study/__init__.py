"""Experiments on the model: replications, the result store, statistics, comparisons, sweeps,
robustness, and the engine benchmark."""

__all__: list[str] = []

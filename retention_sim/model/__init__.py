"""The simulation model: the population, the day's mechanisms, the contact engine and one run.

Knows nothing of experiments, reports or the command line.
"""

__all__: list[str] = []

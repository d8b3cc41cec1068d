"""Interpretability tools: linear interpreters of piecewise-linear networks (:mod:`.linear`)."""

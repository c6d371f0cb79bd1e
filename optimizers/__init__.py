"""Optimizer families, one module each. Registered in ``pyproject.toml`` under ``mbo.optimizers``."""

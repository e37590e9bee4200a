"""Metrics: pure array functions over ``(..., n_assets)``."""

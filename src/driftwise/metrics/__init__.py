"""Metrics (SPEC section 3): pure array functions over ``(..., n_assets)``."""

"""The configuration layer: the TOML file read once, at the edge, into typed objects.

* :mod:`~driftwise.config.model`: the validated configuration (:class:`Config`, pydantic;
  every field defaulted; errors name the file, line and dotted field), loading and the
  commented default (``DEFAULT_CONFIG_TOML``, built when first read).
* :mod:`~driftwise.config.template`: the hand-written lines of that default.
* :mod:`~driftwise.config.messages`: how a validation error is rendered.
* :mod:`~driftwise.config.assemble`: the only mapping from a :class:`Config` to the typed
  domain objects (cost parameters, rule, risk settings, the backtest's rule grid).
* :mod:`~driftwise.config.policies`: the named rules (``--policy``) as configurations.

The names of :mod:`~driftwise.config.model` are exported here.
"""

from driftwise.config.model import *  # noqa: F403  (the model's public names)
from driftwise.config.model import __all__ as _model_names

__all__ = [*_model_names, "DEFAULT_CONFIG_TOML"]  # noqa: F405  (__getattr__)


def __getattr__(name: str) -> str:
    """``DEFAULT_CONFIG_TOML``, built on first use (:func:`default_config_toml`)."""
    if name == "DEFAULT_CONFIG_TOML":
        from driftwise.config.model import default_config_toml

        return default_config_toml()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The configuration layer: the TOML file read once, at the edge, into typed objects.

* :mod:`~driftwise.config.model`: the validated configuration (:class:`Config`, pydantic;
  every field defaulted; errors name the file, line and dotted field), loading and the
  commented default (:data:`DEFAULT_CONFIG_TOML`).
* :mod:`~driftwise.config.template`: the hand-written lines of that default.
* :mod:`~driftwise.config.messages`: how a validation error is rendered.
* :mod:`~driftwise.config.assemble`: the only mapping from a :class:`Config` to the typed
  domain objects (cost parameters, rule, risk settings, the backtest's rule grid).
* :mod:`~driftwise.config.policies`: the named rules (``--policy``) as configurations.

The names of :mod:`~driftwise.config.model` are exported here.
"""

from driftwise.config.model import *  # noqa: F403  (the model's public names)
from driftwise.config.model import __all__ as __all__

"""The commands' application layer: what ``driftwise plan``, ``monitor`` and ``backtest`` do.

Each module composes the domain packages (data, metrics, costs, policy, backtest,
execution) for one command, from inputs and a validated configuration that it assembles
once (:mod:`driftwise.config.assemble`):

* :mod:`~driftwise.app.monitor`: where one portfolio stands today (no decision);
* :mod:`~driftwise.app.plan`: today's decision, trade list and schedule;
* :mod:`~driftwise.app.backtest`: the rules compared on history (metrics, intervals,
  falsification, the sensitivity sweep of :mod:`~driftwise.app.sweep`);
* :mod:`~driftwise.app.reference`: the planner run day by day, the engine's oracle.
"""

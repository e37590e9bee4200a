"""The typed arguments of the compiled kernels: records and named tuples filled by name."""

from __future__ import annotations

import numpy as np

from driftwise.costs.model import CostTable
from driftwise.policy import _kernels as _k
from driftwise.policy.constraints import Constraints
from driftwise.policy.destination import Destination
from driftwise.policy.sizing import sizing_settings


def test_sizing_settings_hold_each_setting_under_its_name() -> None:
    c = Constraints(long_only=False, cash_buffer=0.02, min_trade_usd=300.0,
                    min_trade_shares=3.0, whole_shares=True, max_turnover=0.25)
    s = sizing_settings(Destination.BAND_EDGE, c, 2, gamma=np.array([1.5, 4.0]),
                        horizon_days=63.0, cost_multiple=np.array([2.0, 3.0]), has_width=True,
                        use_cov=False, tol=1e-11, max_iter=40)
    assert s.dtype == _k.SIZING and s.shape == (2,)
    assert (s["destination"] == _k.BAND_EDGE).all()
    assert s["has_width"].all() and not s["use_cov"].any()
    assert not s["long_only"].any() and s["whole_shares"].all()
    assert (s["cash_buffer"] == 0.02).all() and (s["max_turnover"] == 0.25).all()
    assert (s["min_trade_usd"] == 300.0).all() and (s["min_trade_shares"] == 3.0).all()
    assert s["gamma"].tolist() == [1.5, 4.0] and s["cost_multiple"].tolist() == [2.0, 3.0]
    assert (s["horizon_days"] == 63.0).all()
    assert (s["tol"] == 1e-11).all() and (s["max_iter"] == 40).all()


def test_liquidity_limits_hold_each_limit_under_its_name() -> None:
    limits = _k.liquidity_limits(0.1, 5e6, 3.0)
    assert limits.shape == (1,)
    assert (limits["participation"][0], limits["min_adv_usd"][0], limits["max_days"][0]) == (
        0.1, 5e6, 3.0)


def test_min_trade_floor_is_the_larger_of_dollars_and_shares() -> None:
    c = Constraints(min_trade_usd=100.0, min_trade_shares=2.0)
    s = sizing_settings(Destination.FULL, c, 1, gamma=2.0, horizon_days=252.0,
                        cost_multiple=2.0, has_width=False, use_cov=False)
    floor = np.empty(3)
    assert _k.min_trade_floor(s[0], np.array([10.0, 50.0, 80.0]), floor)
    assert floor.tolist() == [100.0, 100.0, 160.0]
    none = sizing_settings(Destination.FULL, Constraints(), 1, gamma=2.0, horizon_days=252.0,
                           cost_multiple=2.0, has_width=False, use_cov=False)
    assert not _k.min_trade_floor(none[0], np.array([10.0, 50.0, 80.0]), floor)


def test_the_kernel_table_names_the_cost_table_arrays() -> None:
    table = CostTable(*(np.full((1, 2), float(v)) for v in range(4)),
                      np.array([True]), np.full((1, 1, 2), 4.0), np.full((1, 1), 5.0))
    kt = table.kernel_table
    for name in kt._fields:
        assert getattr(kt, name) is getattr(table, name)

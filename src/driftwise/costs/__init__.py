"""Transaction costs and liquidity: the one cost model of driftwise.

The planner, the backtest and the rule validation price every trade with :func:`trade_costs`
over arrays shaped ``(n_configs, n_assets)``; :func:`build_cost_inputs` estimates the
per-asset inputs from market data with flagged fallbacks (:class:`CostInputsBuilder`
assembles any day's inputs from that day's estimates, for callers that estimate many
days at once). See ``docs/costs.md``.
"""

from driftwise.costs.build import (
    CostInputsBuilder,
    DayEstimates,
    build_cost_inputs,
    min_history_periods,
)
from driftwise.costs.components import (
    AssetCostInputs,
    CostBreakdown,
    added_borrow_usd,
    borrow_cost_usd,
    commission_cost_usd,
    spread_cost_usd,
)
from driftwise.costs.estimation import (
    adv_shares,
    adv_usd,
    daily_volatility,
    spread_average_bps,
)
from driftwise.costs.impact import almgren_impact, impact_terms, square_root_impact
from driftwise.costs.model import (
    CostCoefficients,
    CostTable,
    RowCosts,
    asset_flags,
    cost_arrays,
    cost_coefficients,
    cost_columns,
    cost_notices,
    cost_rate_bps,
    cost_table,
    liquidity_flags,
    opens_short,
    row_trading_costs,
    short_notices,
    trade_costs,
    trade_shares,
)
from driftwise.costs.params import CostParams, ImpactModel
from driftwise.costs.regime import VixRegime, regime_multiplier, vix_regime
from driftwise.costs.tiers import CapTier, TierDefaults, cap_tier
from driftwise.data.costs import CostFile, read_cost_inputs

__all__ = [
    "AssetCostInputs",
    "CapTier",
    "CostBreakdown",
    "CostCoefficients",
    "CostFile",
    "CostInputsBuilder",
    "CostParams",
    "CostTable",
    "DayEstimates",
    "ImpactModel",
    "RowCosts",
    "TierDefaults",
    "VixRegime",
    "added_borrow_usd",
    "adv_shares",
    "adv_usd",
    "almgren_impact",
    "asset_flags",
    "borrow_cost_usd",
    "build_cost_inputs",
    "cap_tier",
    "commission_cost_usd",
    "cost_arrays",
    "cost_coefficients",
    "cost_columns",
    "cost_notices",
    "cost_rate_bps",
    "cost_table",
    "daily_volatility",
    "impact_terms",
    "liquidity_flags",
    "min_history_periods",
    "opens_short",
    "read_cost_inputs",
    "regime_multiplier",
    "row_trading_costs",
    "short_notices",
    "spread_average_bps",
    "spread_cost_usd",
    "square_root_impact",
    "trade_costs",
    "trade_shares",
    "vix_regime",
]

"""Parameters of the transaction cost model: one frozen, validated value."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from driftwise._types import ImpactModel as ImpactModel  # its public home
from driftwise.costs.tiers import DEFAULT_OUTSTANDING_OVER_ADV, TierDefaults
from driftwise.errors import ConfigError


def _priced(default: Any, *, config: str | None = None, **bounds: float) -> Any:
    """A field that prices trades and nothing else: rows of one backtest batch may differ in
    it (each row is priced with its own), since the per-day cost inputs do not read it.

    ``config``: the field is also a key of ``[costs]`` under its own name, described by this
    text and bounded by ``bounds`` (pydantic's ``gt``, ``ge``, ``le``, ...): the
    configuration declares it from here (:func:`configured_fields`), so a new cost parameter
    is this field and the formula that reads it.
    """
    metadata: dict[str, Any] = {"pricing": True}
    if config is not None:
        metadata["config"] = (config, bounds)
    return field(default=default, metadata=metadata)


def configured_fields() -> dict[str, tuple[Any, str, dict[str, float]]]:
    """The fields of :class:`CostParams` that are keys of ``[costs]``: name -> (default,
    description, bounds)."""
    return {f.name: (f.default, *f.metadata["config"]) for f in fields(CostParams)
            if "config" in f.metadata}


@dataclass(frozen=True)
class CostParams:
    """Every knob of the cost model, with a documented default.

    Attributes
    ----------
    impact_model : ImpactModel
        ``SQUARE_ROOT`` (default) or ``ALMGREN_2005``.
    impact_coef : float
        ``Y`` of the square-root law ``Y * sigma_daily * sqrt(Q / ADV)``. Default 1.0
       ; empirical fits give Y of order 0.5 to 1 (Toth et al. 2011,
        "Anomalous price impact and the critical nature of liquidity", Phys. Rev. X 1;
        Bouchaud, Bonart, Donier, Gould 2018, *Trades, Quotes and Prices*, ch. 12).
    almgren_eta, almgren_beta : float
        Temporary impact ``eta * sigma * |X / (V T)|**beta``: eta = 0.142, beta = 0.6.
    almgren_gamma, almgren_alpha, almgren_delta : float
        Permanent impact ``gamma * sigma * |X / V|**alpha * (Theta / V)**delta``:
        gamma = 0.314, alpha = 1, delta = 1/4. Source of all five: Almgren, Thum,
        Hauptmann and Li (2005), "Direct estimation of equity market impact", *Risk* 18(7),
        table of fitted coefficients (Citigroup US large-cap orders, 2001-2003).
    outstanding_over_adv : float
        ``Theta / V`` used when an asset's market cap is unknown (default 150; see
        :data:`~driftwise.costs.tiers.DEFAULT_OUTSTANDING_OVER_ADV`).
    vix_breaks : tuple of floats
        Increasing VIX levels separating regimes (default ``(20, 30)``): a VIX equal to
        a break belongs to the higher regime.
    vix_multipliers : tuple of floats
        Multiplier of spread and impact per regime, one more than ``vix_breaks``
        (default ``(1.0, 1.5, 2.5)``: assumptions to sweep, not facts).
    participation : float
        Largest fraction of ADV traded per day, for liquidity days (default 0.10).
    execution_days : float
        Execution horizon ``T`` of the Almgren temporary impact, in trading days
        (default 1.0: the order is worked over one full day).
    cost_scale : float
        Multiplier of every trading cost (spread, commission, impact, flat), for sweeps.
        It does not scale borrow (a carrying cost).
    flat_cost_bps : float or None
        If set, the whole model is replaced by this cost in bps of traded value
        (the backtest's ``--cost-bps``); borrow still applies.
    scale_flat_by_regime : bool
        Whether ``flat_cost_bps`` is multiplied by the VIX regime multiplier (default
        False: a flat cost means what it says). Tier all-in estimates are always scaled,
        since they stand in for spread and impact.
    stale_after_days : int
        Cost inputs older than this many calendar days before the as-of date are stale.
    illiquid_adv_usd, illiquid_days, multi_day_days : float
        Illiquid if ADV < $1M or liquidity days > 10; multi-day if liquidity days > 5
       .
    vol_window_days, adv_window_days, spread_window_days : int
        Estimation windows in trading days: 20 (volatility for impact), 60 (ADV),
        20 (spread average).
    min_history_fraction : float
        Share of a window that must hold valid observations for an estimate (0.5).
    default_commission_bps : float
        Commission for assets without a cost-file row (default 0: most US brokers charge
        no commission on listed equities; institutional desks set their own).
    default_commission_per_share_usd, default_min_ticket_usd : float
        Commission per share and minimum commission per order of assets without a
        cost-file row (default 0).
    default_borrow_bps_annual : float
        Borrow fee for shorts without a quoted rate (default 25 bps a year, a
        general-collateral, easy-to-borrow level; an assumption, flagged when used).
    tiers : TierDefaults
        Tier boundaries and fallback values.
    """

    impact_model: ImpactModel = _priced(ImpactModel.SQUARE_ROOT)  # noqa: RUF009 (an enum)
    impact_coef: float = _priced(1.0)
    almgren_eta: float = _priced(0.142)
    almgren_beta: float = _priced(0.6)
    almgren_gamma: float = _priced(0.314)
    almgren_alpha: float = _priced(1.0)
    almgren_delta: float = _priced(0.25)
    outstanding_over_adv: float = DEFAULT_OUTSTANDING_OVER_ADV
    vix_breaks: tuple[float, ...] = _priced((20.0, 30.0))
    vix_multipliers: tuple[float, ...] = _priced((1.0, 1.5, 2.5))
    participation: float = _priced(0.10)
    execution_days: float = _priced(
        1.0, config="Days an order is worked over, for the 3/5-power temporary impact.", gt=0)
    cost_scale: float = _priced(1.0)
    flat_cost_bps: float | None = _priced(None)
    scale_flat_by_regime: bool = _priced(False)
    stale_after_days: int = 30
    illiquid_adv_usd: float = _priced(1e6)
    illiquid_days: float = _priced(10.0)
    multi_day_days: float = _priced(5.0)
    vol_window_days: int = 20
    adv_window_days: int = 60
    spread_window_days: int = 20
    min_history_fraction: float = 0.5
    default_commission_bps: float = 0.0
    default_commission_per_share_usd: float = 0.0
    default_min_ticket_usd: float = 0.0
    default_borrow_bps_annual: float = 25.0
    tiers: TierDefaults = field(default_factory=TierDefaults)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "impact_model", ImpactModel(self.impact_model))
        except ValueError:
            raise ConfigError(f"impact_model must be one of {[m.value for m in ImpactModel]}; "
                              f"found {self.impact_model!r}") from None
        object.__setattr__(self, "vix_breaks", tuple(float(v) for v in self.vix_breaks))
        object.__setattr__(self, "vix_multipliers",
                           tuple(float(v) for v in self.vix_multipliers))
        for name in ("impact_coef", "almgren_eta", "almgren_gamma", "almgren_delta",
                     "cost_scale", "stale_after_days", "illiquid_adv_usd",
                     "default_commission_bps", "default_commission_per_share_usd",
                     "default_min_ticket_usd", "default_borrow_bps_annual"):
            _check(name, getattr(self, name), low=0.0)
        for name in ("almgren_beta", "almgren_alpha", "outstanding_over_adv", "participation",
                     "execution_days", "illiquid_days", "multi_day_days",
                     "min_history_fraction"):
            _check(name, getattr(self, name), low=0.0, strict=True)
        _check("participation", self.participation, high=1.0)
        _check("min_history_fraction", self.min_history_fraction, high=1.0)
        if self.flat_cost_bps is not None:
            _check("flat_cost_bps", self.flat_cost_bps, low=0.0)
        for name in ("vol_window_days", "adv_window_days", "spread_window_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 2:
                raise ConfigError(f"{name} must be an integer >= 2; found {value!r}")
        self._check_regimes()

    def estimation(self) -> CostParams:
        """These parameters with every pricing field (declared with ``_priced``) at its
        default: what the per-day cost inputs (:func:`~driftwise.costs.build_cost_inputs`,
        a backtest's history) are estimated with. Two sets with equal estimation can
        share one history."""
        defaults: dict[str, Any] = {f.name: f.default for f in fields(self)
                                    if f.metadata.get("pricing")}
        return replace(self, **defaults)

    def _check_regimes(self) -> None:
        breaks, mults = self.vix_breaks, self.vix_multipliers
        if len(mults) != len(breaks) + 1:
            raise ConfigError(f"vix_multipliers needs one more value than vix_breaks; found "
                              f"{len(mults)} multipliers for {len(breaks)} breaks")
        if any(not math.isfinite(b) or b <= 0.0 for b in breaks) or any(
                b2 <= b1 for b1, b2 in itertools.pairwise(breaks)):
            raise ConfigError(f"vix_breaks must be positive and strictly increasing; "
                              f"found {breaks}")
        if any(not math.isfinite(m) or m <= 0.0 for m in mults):
            raise ConfigError(f"vix_multipliers must be positive; found {mults}")


def _check(name: str, value: object, *, low: float | None = None, high: float | None = None,
           strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number; found {value!r}")
    if low is not None and (value <= low if strict else value < low):
        raise ConfigError(f"{name} must be {'>' if strict else '>='} {low}; found {value}")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be <= {high}; found {value}")

"""Tax-aware rebalancing for taxable accounts (lot level).

``lots``: the holding period, the rates, lot relief (FIFO, HIFO, minimum tax, specific)
and the tax of a sale; ``wash``: the wash-sale rule over a sequence of trades (a
disallowed loss moves to the replacement lot's basis with its holding period) and the
planner's wash-sale checks; ``deferral``: the price of waiting for a short-term gain
lot to turn long-term. The planner's decision after tax is
:mod:`driftwise.policy.tax_gate`.
"""

from driftwise.tax.lots import (
    LotSale,
    Relief,
    TaxRates,
    is_long_term,
    long_term_from,
    lot_ids,
    lot_tax,
    relief_order,
    relieve,
    relieve_lots,
)

__all__ = ["LotSale", "Relief", "TaxRates", "is_long_term", "long_term_from", "lot_ids",
           "lot_tax", "relief_order", "relieve", "relieve_lots"]

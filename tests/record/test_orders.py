"""Plans and orders in the record: proposed -> approved -> sent -> filled / cancelled,
every other move refused; ``plan --record``, ``approve``, and fills that fill orders."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.errors import DataError
from driftwise.record.orders import LEGAL, check_transition
from driftwise.record.schema import ORDER_STATUSES, orders, plans

LIFE = ["proposed", "approved", "sent", "filled"]


def test_only_the_order_life_is_legal() -> None:
    """Oracle: a move is legal when it is one step along proposed -> approved -> sent ->
    filled, or a cancellation of an order not yet filled or cancelled."""
    for status, to in itertools.product(ORDER_STATUSES, repeat=2):
        one_step = status in LIFE[:-1] and to == LIFE[LIFE.index(status) + 1]
        cancel = to == "cancelled" and status not in ("filled", "cancelled")
        if one_step or cancel:
            check_transition(1, status, to)
            assert to in LEGAL[status]
        else:
            with pytest.raises(DataError, match=f"from {status} to {to}"):
                check_transition(1, status, to)


@pytest.fixture
def planned(engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]) -> dict:
    """The sample planned and recorded (a rebalance with its orders)."""
    capsys.readouterr()
    assert main(["plan", "--db", db_url, "--json"]) == EXIT_OK
    return json.loads(capsys.readouterr().out)


def test_plan_record_keeps_decision_reasons_inputs_configuration_and_orders(
        engine: Engine, planned: dict) -> None:
    ids = planned["record"]
    with engine.connect() as c:
        plan = c.execute(sa.select(plans).where(plans.c.id == ids["plan_id"])).one()
        rows = c.execute(sa.select(orders).where(orders.c.plan_id == plan.id)).all()
    assert plan.decision == planned["decision"] == "rebalance"
    assert list(plan.reasons) == planned["reasons"]
    assert plan.fingerprints["holdings"] == "embedded sample"
    assert "[policy]" in plan.configuration
    assert len(rows) == len(ids["order_ids"]) > 0
    assert {r.status for r in rows} == {"proposed"}


def test_approve_then_fill_then_refuse(engine: Engine, db_url: str, planned: dict,
                                       tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    plan_id = planned["record"]["plan_id"]
    with engine.connect() as c:
        first, second = c.execute(sa.select(orders).where(orders.c.plan_id == plan_id)
                                  .order_by(orders.c.id).limit(2)).all()
    fills = tmp_path / "f.csv"
    pd.DataFrame({"ticker": [first.ticker], "side": [first.side], "shares": [1.0],
                  "price_usd": [50.0], "filled_at": ["2022-12-29T10:00"],
                  "order_id": [first.client_order_id], "exec_id": ["E1"]}).to_csv(fills,
                                                                                 index=False)
    assert main(["import", "--db", db_url, "--holdings",
                 str(Path(__file__).parents[2] / "src/driftwise/data/sample/holdings.csv")]
                ) == EXIT_OK
    capsys.readouterr()
    assert main(["fills", "--db", db_url, "--fills", str(fills)]) == EXIT_BAD_INPUT
    assert "proposed" in capsys.readouterr().err  # a fill for an order never approved
    assert main(["approve", "--db", db_url, "--plan", str(plan_id)]) == EXIT_OK
    assert main(["approve", "--db", db_url, "--order", str(second.id), "--to",
                 "cancelled"]) == EXIT_OK
    assert main(["fills", "--db", db_url, "--fills", str(fills)]) == EXIT_OK
    with engine.connect() as c:
        status = dict(c.execute(sa.select(orders.c.id, orders.c.status)).all())
        filled = c.execute(sa.select(orders.c.filled_shares).where(orders.c.id == first.id)
                           ).scalar()
    assert status[second.id] == "cancelled"
    assert filled == 1
    assert status[first.id] == ("filled" if first.shares <= 1 else "sent")
    capsys.readouterr()
    assert main(["approve", "--db", db_url, "--order", str(second.id)]) == EXIT_BAD_INPUT
    assert "cannot go from cancelled to approved" in " ".join(capsys.readouterr().err.split())
    assert main(["approve", "--db", db_url, "--order", "999999"]) == EXIT_BAD_INPUT
    assert main(["approve", "--db", db_url, "--plan", "999999"]) == EXIT_BAD_INPUT
    assert main(["approve", "--db", db_url, "--order", str(first.id), "--to", "filled"]) == 2


def test_an_illegal_move_in_a_batch_moves_nothing(engine: Engine, db_url: str,
                                                  planned: dict) -> None:
    plan_id = planned["record"]["plan_id"]
    some = planned["record"]["order_ids"][:1]
    assert main(["approve", "--db", db_url, "--order", str(some[0]), "--to",
                 "cancelled"]) == EXIT_OK
    assert main(["approve", "--db", db_url, "--plan", str(plan_id), "--to", "sent"]
                ) == EXIT_BAD_INPUT
    with engine.connect() as c:
        statuses = set(c.execute(sa.select(orders.c.status)).scalars())
    assert statuses == {"proposed", "cancelled"}


def test_history_tells_what_was_decided_when_and_why(engine: Engine, db_url: str,
                                                     planned: dict, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    plan_id = planned["record"]["plan_id"]
    assert main(["approve", "--db", db_url, "--plan", str(plan_id)]) == EXIT_OK
    capsys.readouterr()
    assert main(["history", "--db", db_url, "--json"]) == EXIT_OK
    entries = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in entries] == ["plan", "orders"]
    assert entries[0]["reasons"] == planned["reasons"]
    assert f"plan {plan_id}" in entries[0]["summary"] and "rebalance" in entries[0]["summary"]
    assert entries[1]["summary"] == f"{len(planned['record']['order_ids'])} order(s) now approved"
    assert main(["history", "--db", db_url, "--since", "2999-01-01", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == []
    assert main(["history", "--db", db_url, "--account", "nobody"]) == EXIT_BAD_INPUT

"""The kernels' vector layouts are declared once: slots follow their field lists, parameter
slots the parameter list, and no module outside kernels/ indexes a state or trade by number."""

from __future__ import annotations

import ast
import re

import numpy as np

from scalper_tune.config.costs import CostModel
from scalper_tune.config.strategy_params import PARAMS, default_params
from scalper_tune.engine.inputs import cost_vector, param_vector
from scalper_tune.kernels import layout
from scalper_tune.kernels.engine_nb import new_state_nb
from tests.conftest import ROOT


def test_slots_are_positions_of_their_field_lists():
    for slots, fields, n in ((layout.S, layout.STATE_FIELDS, layout.N_STATE),
                             (layout.T, layout.TRADE_FIELDS, layout.N_TRADE),
                             (layout.P, layout.PARAM_FIELDS, layout.N_PARAMS),
                             (layout.C, layout.COST_FIELDS, layout.N_COSTS)):
        assert slots._fields == fields
        assert tuple(slots) == tuple(range(n)) == tuple(range(len(fields)))
    assert layout.PARAM_FIELDS == tuple(k for k in PARAMS if k != "z_window")
    assert layout.REG_SQ == layout.REG_SUM + layout.N_REGIMES


def test_vectors_by_name():
    params = dict(default_params(), side="short", entry_z=2.75)
    p = param_vector(params)
    assert p[layout.P.entry_z] == 2.75 and p[layout.P.side] == -1.0
    assert p[layout.P.max_hold] == float(params["max_hold"])
    c = cost_vector(CostModel(taker_fee_bps=7.0, latency=2))
    assert c[layout.C.taker_fee_bps] == 7.0 and c[layout.C.latency] == 2.0
    state = layout.state_dict(new_state_nb(1000.0))
    assert state["cash"] == state["equity"] == 1000.0 and state["pend_entry_bar"] == -1.0
    assert list(state) == list(layout.STATE_FIELDS)


def test_trade_records_view_a_trades_matrix():
    trades = np.arange(2 * layout.N_TRADE, dtype=float).reshape(2, layout.N_TRADE)
    records = layout.trade_records(trades)
    assert records.shape == (2,) and records["pnl"][1] == trades[1, layout.T.pnl]


def test_no_numbered_state_or_trade_slots_outside_kernels():
    """A subscript of a state/trade array by an integer literal (`state[1]`, `t[:, 6]`) outside
    kernels/ reads a slot by number: use the layout's names."""
    names = re.compile(r"^(s|st|state|states|trade|trades|t|final)$")
    for path in (ROOT / "scalper_tune").rglob("*.py"):
        if "kernels" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                    and names.match(node.value.id):
                index = node.slice
                parts = index.elts if isinstance(index, ast.Tuple) else [index]
                last = parts[-1]
                assert not (isinstance(last, ast.Constant) and isinstance(last.value, int)), \
                    f"{path}:{node.lineno}: {ast.unparse(node)}"

"""The `ml-edge` report in the seed's layout."""

from __future__ import annotations

RULE = "-" * 38


def _pct(x, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x * 100:+.2f}%" if signed else f"{x * 100:.1f}%"


def render(s: dict) -> str:
    lines = [
        f"Account Value:        $ {s['account_value']:,.0f}",
        f"Min Model Accuracy:   {s['min_model_accuracy'] * 100:.0f}%",
        f"Assets Traded:        {s['assets_traded']}",
        RULE,
        f"Total Trades:         {s['total_trades']}",
        f"Win Rate:             {_pct(s['win_rate'])}",
        f"Avg Return/Trade:     {_pct(s['avg_return_per_trade'], signed=True)}",
        f"Profit Factor:        {s['profit_factor']:.2f}" if s["profit_factor"] is not None
        else "Profit Factor:        n/a",
        RULE,
        f"TOTAL P&L:            $ {s['total_pnl']:,.2f}",
        f"Return on Account:    {_pct(s['return_on_account'], signed=True)}",
        f"Max Drawdown (cum):   $ {s['max_drawdown']:,.2f}",
        f"Worst Trade:          {_pct(s['worst_trade'], signed=True)}",
        RULE,
        "Top Assets by P&L:",
    ]
    traded = sorted((a for a in s["assets"] if a["trades"]), key=lambda a: -a["pnl"])
    for a in traded[:5]:
        lines.append(f"  {a['symbol']} acc={a['accuracy'] * 100:.1f}% "
                     f"avg_ret={_pct(a['avg_return'], signed=True)}")
    if not traded:
        lines.append("  (none: in no block did an asset's model, judged on the trades known "
                     "before it, beat its baseline and the minimum accuracy)")
    lines += ["", f"{'symbol':<12}{'accuracy':>9}{'baseline':>9}{'lower95':>9}{'signals':>8}"
                  f"{'blocks':>8}{'trades':>7}{'next':>6}{'p-value':>9}"]
    for a in s["assets"]:
        f = lambda x: f"{x * 100:.1f}%" if x is not None else "n/a"
        p = f"{a['p_value']:.3f}" if a["p_value"] is not None else "-"
        blocks = f"{sum(b['traded'] for b in a['blocks'])}/{len(a['blocks'])}"
        lines.append(f"{a['symbol']:<12}{f(a['accuracy']):>9}{f(a['baseline']):>9}"
                     f"{f(a['lower_bound']):>9}{a['signals']:>8}{blocks:>8}{a['trades']:>7}"
                     f"{'yes' if a['traded'] else 'no':>6}{p:>9}")
    lines.append("accuracy, baseline: over every out-of-sample prediction (reported only); blocks: "
                 "blocks traded / blocks, each verdict from trades known before it; next: the "
                 "verdict after the data")
    if s.get("permutations"):
        lines.append(f"p-value: share of {s['permutations']} refits on shuffled training labels "
                     f"scoring at least as well; it cannot be below 1/(N+1) = "
                     f"{s['min_p_value']:.4f}. It tests the model's skill, not the splits.")
    lines.append(f"primary strategy: {s.get('params_source', 'given parameters')}")
    return "\n".join(lines)

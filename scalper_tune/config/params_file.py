"""Parameter files (`--params PARAMS.yaml`, `best_config.yaml`): every strategy parameter, plus
optional cost model and account.

```yaml
params: {z_window: 40, entry_z: 2.0, ...}   # all strategy parameters (see examples/params.yaml)
costs: {taker_fee_bps: 5.0}                 # optional; missing keys take CostModel defaults
account: 1000                               # optional, $
meta: {...}                                 # optional, free-form (ignored)
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scalper_tune.config.costs import CostModel
from scalper_tune.config.schema import build, check_keys, load_yaml
from scalper_tune.config.strategy_params import PARAMS, check_params, default_params
from scalper_tune.errors import ConfigError

SECTIONS = ("schema_version", "params", "costs", "account", "meta")


@dataclass(frozen=True)
class ParamsFile:
    params: dict[str, object] = field(default_factory=default_params)
    costs: CostModel = field(default_factory=CostModel)
    account: float = 1000.0


def load_params_file(path: str | Path) -> ParamsFile:
    """Load and validate a parameter file; every strategy parameter must be present."""
    file = str(path)
    raw = load_yaml(path, "parameter")
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping with a 'params' section.")
    check_keys(raw, SECTIONS, file)
    values = raw.get("params")
    if not isinstance(values, dict):
        raise ConfigError(f"{file}: params: required mapping of strategy parameters is missing "
                          "(see examples/params.yaml).")
    missing = [k for k, spec in PARAMS.items() if spec.required and k not in values]
    if missing:
        raise ConfigError(f"{file}: params: missing {', '.join(missing)}. Give every parameter "
                          "(examples/params.yaml lists them with units).")
    params = check_params(values, f"{file}: params")
    costs = build(CostModel, raw.get("costs") or {}, file=file, where="costs")
    account = raw.get("account", 1000.0)
    if isinstance(account, bool) or not isinstance(account, (int, float)) or account <= 0:
        raise ConfigError(f"{file}: account: expected a positive number of dollars, got {account!r}.")
    return ParamsFile(params=params, costs=costs, account=float(account))

"""Online (one event at a time) computation of the features the strategy reads, from the same
step kernels as the batch features, so live values equal backtest values bit for bit.

All state lives in two float64 vectors: `fs` (scalars) and `rg` (ring buffers), laid out by
`layout_nb`; `lay` holds the sizes: [z_window, vol_window, baseline_window, n_timeframes, bar_ns,
period_ns of each timeframe...].

Sessions (stocks): each bar comes with its session's id (NaN for a 24/7 symbol); a completed
higher-timeframe bar whose session differs from the previous one's enters the volatility window
with a zero return, as the batch features' overnight rule does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from scalper_tune.kernels.rolling_nb import (CM_SIZE, MS_SIZE, comoments_step_nb, mean_std_step_nb,
                                             ou_from_comoments_nb, zscore_value_nb)
from scalper_tune.kernels.timeframe_nb import HT_SIZE, htf_step_nb

L_W, L_VOLW, L_BASEW, L_NTF, L_BAR = 0, 1, 2, 3, 4
# per timeframe scalars: htf state, then prev close, has prev, prev base mean, prev base std,
# last z, the previous close's session, vol mean/std state, base mean/std state
TF_PREV, TF_HAS, TF_BM, TF_BS, TF_Z, TF_SES = 0, 1, 2, 3, 4, 5
TF_MS = 6
TF_SIZE = HT_SIZE + TF_MS + 2 * MS_SIZE
F_PRICE = 0
F_OU = F_PRICE + MS_SIZE
F_OU_PREV = F_OU + CM_SIZE
F_SES = F_OU_PREV + 1  # the previous base bar's session
F_TF = F_SES + 1
# outputs
O_Z, O_VOLZ, O_IMB, O_MU, O_HALF = 0, 1, 2, 3, 4
N_OUT = 5


@njit(cache=True)
def sizes_nb(lay: np.ndarray) -> tuple:
    """(len(fs), len(rg)) for a layout."""
    w, vw, bw, ntf = lay[L_W], lay[L_VOLW], lay[L_BASEW], lay[L_NTF]
    return F_TF + ntf * TF_SIZE, 3 * w + ntf * (vw + bw)


@njit(cache=True)
def init_nb(lay: np.ndarray) -> tuple:
    """Fresh state vectors for a layout."""
    nf, nr = sizes_nb(lay)
    fs = np.zeros(nf)
    fs[F_OU_PREV] = np.nan
    fs[F_SES] = np.nan
    for i in range(lay[L_NTF]):
        base = F_TF + i * TF_SIZE + HT_SIZE
        fs[base + TF_PREV] = np.nan
        fs[base + TF_BM] = np.nan
        fs[base + TF_BS] = np.nan
        fs[base + TF_Z] = np.nan
    return fs, np.zeros(nr)


@njit(cache=True)
def _vol_chain(fs: np.ndarray, o: int, ring_vol: np.ndarray, ring_base: np.ndarray,
               close: float, session: float) -> None:
    """One completed higher-timeframe close (of `session`) through log return -> volatility ->
    trailing z; a return across sessions counts as 0."""
    r = np.log(close / fs[o + TF_PREV]) if fs[o + TF_HAS] > 0.0 else np.nan
    if fs[o + TF_HAS] > 0.0 and not np.isnan(session) and session != fs[o + TF_SES]:
        r = 0.0
    fs[o + TF_PREV] = close
    fs[o + TF_HAS] = 1.0
    fs[o + TF_SES] = session
    ms_vol = fs[o + TF_MS:o + TF_MS + MS_SIZE]
    ms_base = fs[o + TF_MS + MS_SIZE:o + TF_MS + 2 * MS_SIZE]
    _, vol = mean_std_step_nb(ms_vol, ring_vol, r)
    bm, bs = mean_std_step_nb(ms_base, ring_base, vol)
    fs[o + TF_Z] = zscore_value_nb(vol, fs[o + TF_BM], fs[o + TF_BS])
    fs[o + TF_BM] = bm
    fs[o + TF_BS] = bs


@njit(cache=True)
def online_step_nb(fs: np.ndarray, rg: np.ndarray, lay: np.ndarray, ts: int, close: float,
                   bid_size: float, ask_size: float, session: float, out: np.ndarray) -> None:
    """Feed one bar of one symbol (`session`: its session's id, NaN for 24/7); writes price
    z-score, vol_z_min, imbalance, OU mean (ln price) and OU half-life (bars) for the layout's
    z_window into `out`."""
    w, vw, bw, ntf, bar_ns = lay[L_W], lay[L_VOLW], lay[L_BASEW], lay[L_NTF], lay[L_BAR]
    mean, std = mean_std_step_nb(fs[F_PRICE:F_PRICE + MS_SIZE], rg[0:w], close)
    out[O_Z] = zscore_value_nb(close, mean, std)
    log_close = np.log(close)
    mx, my, cxx, cyy, cxy = comoments_step_nb(fs[F_OU:F_OU + CM_SIZE], rg[w:2 * w],
                                              rg[2 * w:3 * w], fs[F_OU_PREV], log_close)
    fs[F_OU_PREV] = log_close
    mu, half, _ = ou_from_comoments_nb(mx, my, cxx, cyy, cxy, w)
    out[O_MU] = mu
    out[O_HALF] = half
    volz = np.inf
    r0 = 3 * w
    for i in range(ntf):
        o = F_TF + i * TF_SIZE
        ring_vol = rg[r0 + i * (vw + bw):r0 + i * (vw + bw) + vw]
        ring_base = rg[r0 + i * (vw + bw) + vw:r0 + (i + 1) * (vw + bw)]
        period = lay[5 + i]
        k, c1, t1, c2, _ = htf_step_nb(fs[o:o + HT_SIZE], ts, close, period, bar_ns)
        if k >= 1:  # an earlier period's bar (completed by a gap) ends in the previous session
            s1 = session if t1 == (ts // period) * period else fs[F_SES]
            _vol_chain(fs, o + HT_SIZE, ring_vol, ring_base, c1, s1)
        if k == 2:
            _vol_chain(fs, o + HT_SIZE, ring_vol, ring_base, c2, session)
        z = fs[o + HT_SIZE + TF_Z]
        if np.isnan(z) or np.isnan(volz):
            volz = np.nan
        elif z < volz:
            volz = z
    out[O_VOLZ] = volz
    fs[F_SES] = session
    total = bid_size + ask_size
    out[O_IMB] = (bid_size - ask_size) / total if total > 0.0 else np.nan

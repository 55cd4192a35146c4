"""Accuracy-adjusted area estimates from a reference sample stratified by the map.

A map's pixel count is a biased estimate of a class's area. Olofsson et al. (2014, Remote
Sensing of Environment 148:42–57, "Good practices for estimating area and assessing
accuracy of land change", section 5; variance formulas from Olofsson et al. 2013, RSE
129:122–131) estimate it instead from a reference sample drawn by stratified random
sampling with the map classes as strata:

* error matrix in area proportions ``p_ij = W_i n_ij / n_i.`` (eq. 4), with ``W_i`` the
  mapped area share of stratum ``i`` and ``n_ij`` the sample count mapped ``i``, labelled
  ``j`` in the reference;
* area proportion of class ``j``: ``p_.j = Σ_i p_ij`` (eq. 9), area ``A_j = A · p_.j``;
* its standard error ``S(p_.j) = sqrt(Σ_i W_i² (n_ij/n_i.)(1 − n_ij/n_i.)/(n_i. − 1))``
  (eq. 10), ``S(A_j) = A · S(p_.j)``, 95 % CI ``± 1.96 S``;
* user's accuracy ``U_i = p_ii / p_i.``, producer's ``P_j = p_jj / p_.j``, overall
  ``O = Σ_j p_jj`` (eqs. 2–4) with variances eqs. 5–7 (producer's: the 2013 paper's form,
  the sum running over ``i ≠ j``).

The same arithmetic gives the area of a set of classes (e.g. every class of the
``forest`` group, for forest coverage): the indicator "reference label in the set" replaces
"reference label is j".

:func:`sample_size` and :func:`allocate` are the design mode: eq. 13 of the 2014 paper,
``n = (Σ W_i S_i / S(Ô))²`` with ``S_i = sqrt(U_i (1 − U_i))``, and their allocation advice
(enough units in rare strata, the rest proportional).

All functions are pure: arrays in, a frozen record out.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from sinkplan.layers.errors import InputError

__all__ = [
    "Z95",
    "GroupEstimate",
    "StratifiedEstimate",
    "allocate",
    "error_matrix",
    "group_estimate",
    "sample_size",
    "stratified_estimate",
]

logger = logging.getLogger(__name__)

#: Normal quantile of a two-sided 95 % interval, as Olofsson et al. use it.
Z95 = 1.96


@dataclass(frozen=True)
class StratifiedEstimate:
    """Stratified estimates for classes ``codes`` (strata = map classes, same order).

    Arrays are indexed by class position; ``counts[i, j]`` is mapped ``codes[i]``,
    reference ``codes[j]``. Areas are in the unit of ``map_area`` (the callers use ha).
    NaN marks a quantity that is undefined (e.g. producer's accuracy of a class absent
    from both map and reference).
    """

    codes: tuple[int, ...]
    counts: np.ndarray  # (q, q) sample counts n_ij
    map_area: np.ndarray  # (q,) mapped area per stratum
    weights: np.ndarray  # (q,) W_i
    proportions: np.ndarray  # (q, q) p_ij
    area_proportion: np.ndarray  # (q,) p_.j
    area_proportion_se: np.ndarray  # (q,) S(p_.j)
    users_accuracy: np.ndarray
    users_accuracy_se: np.ndarray
    producers_accuracy: np.ndarray
    producers_accuracy_se: np.ndarray
    overall_accuracy: float
    overall_accuracy_se: float
    z: float = Z95

    @property
    def total_area(self) -> float:
        """A: the mapped area of all strata."""
        return float(self.map_area.sum())

    @property
    def adjusted_area(self) -> np.ndarray:
        """Error-adjusted area per class, ``A · p_.j`` (eq. 11)."""
        return self.total_area * self.area_proportion

    @property
    def adjusted_area_se(self) -> np.ndarray:
        """Standard error of the adjusted area, ``A · S(p_.j)`` (eq. 12)."""
        return self.total_area * self.area_proportion_se

    @property
    def adjusted_area_ci(self) -> np.ndarray:
        """Half-width of the confidence interval of the adjusted area (``z`` · SE)."""
        return self.z * self.adjusted_area_se

    @property
    def n_samples(self) -> np.ndarray:
        """Reference units per stratum, ``n_i.``."""
        return self.counts.sum(axis=1)


@dataclass(frozen=True)
class GroupEstimate:
    """Area proportion of a set of reference classes (e.g. the forest group)."""

    codes: tuple[int, ...]
    map_proportion: float  # Σ W_i over the set's map strata
    proportion: float  # Σ_j∈set p_.j
    proportion_se: float
    z: float = Z95

    @property
    def ci95(self) -> float:
        """Half-width of the confidence interval of :attr:`proportion`."""
        return self.z * self.proportion_se


def error_matrix(map_codes: np.ndarray, ref_codes: np.ndarray, codes: tuple[int, ...] | list[int]) -> np.ndarray:
    """Sample counts ``n_ij`` (row: map class ``codes[i]``, column: reference ``codes[j]``).

    Raises
    ------
    InputError
        A map or reference code is not in ``codes``.
    """
    codes = tuple(int(c) for c in codes)
    index = {c: i for i, c in enumerate(codes)}
    m = np.asarray(map_codes).astype(np.int64).ravel()
    r = np.asarray(ref_codes).astype(np.int64).ravel()
    if m.shape != r.shape:
        raise InputError(f"{m.size} map codes but {r.size} reference codes; give one of each per sample unit")
    bad = sorted(set(np.unique(m).tolist() + np.unique(r).tolist()) - set(codes))
    if bad:
        raise InputError(f"sample codes {bad} are not among the classes {list(codes)}")
    q = len(codes)
    lut = np.zeros(max(codes) + 1, dtype=np.int64)
    for c, i in index.items():
        lut[c] = i
    return np.bincount(lut[m] * q + lut[r], minlength=q * q).reshape(q, q)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out


def _check_strata(counts: np.ndarray, map_area: np.ndarray, codes: tuple[int, ...]) -> np.ndarray:
    n_i = counts.sum(axis=1)
    short = [(codes[i], int(n_i[i])) for i in range(len(codes)) if map_area[i] > 0 and n_i[i] < 2]
    if short:
        listed = ", ".join(f"{c} ({n} unit{'s' if n != 1 else ''})" for c, n in short)
        raise InputError(
            f"map classes {listed} have mapped area but fewer than 2 reference units; the stratified "
            "estimator needs at least 2 per stratum (50–100 is good practice): add reference points "
            "there or merge those classes"
        )
    return n_i.astype(np.float64)


def stratified_estimate(
    counts: np.ndarray, map_area: np.ndarray, *, codes: tuple[int, ...] | list[int] | None = None, z: float = Z95
) -> StratifiedEstimate:
    """The stratified estimator of Olofsson et al. (2014) for an error matrix of counts.

    Parameters
    ----------
    counts : ndarray, shape (q, q)
        Sample counts, rows = map class (stratum), columns = reference class.
    map_area : ndarray, shape (q,)
        Mapped area (or pixel count) of each stratum; areas come out in the same unit.
    codes : sequence of int, optional
        Class codes (default 0..q-1).
    z : float
        Normal quantile for the confidence intervals (1.96: 95 %).

    Returns
    -------
    StratifiedEstimate

    Raises
    ------
    InputError
        Shapes disagree, negative values, no mapped area, or a stratum with mapped area
        but fewer than two reference units.

    Examples
    --------
    >>> e = stratified_estimate(np.array([[9, 1], [1, 9]]), np.array([20.0, 80.0]))
    >>> round(float(e.adjusted_area[0]), 6)  # 100 × (0.2·0.9 + 0.8·0.1) = 26
    26.0
    """
    n = np.asarray(counts, dtype=np.float64)
    a = np.asarray(map_area, dtype=np.float64).ravel()
    q = a.size
    if n.shape != (q, q):
        raise InputError(f"error matrix has shape {n.shape} but there are {q} strata; it must be {q}×{q}")
    if (n < 0).any() or (a < 0).any() or not np.isfinite(a).all():
        raise InputError("sample counts and mapped areas must be finite and ≥ 0")
    if a.sum() <= 0:
        raise InputError("the strata have no mapped area")
    codes = tuple(range(q)) if codes is None else tuple(int(c) for c in codes)
    n_i = _check_strata(n, a, codes)
    w = a / a.sum()
    share = _ratio(n, n_i[:, None])  # n_ij / n_i.
    share[~np.isfinite(share)] = 0.0  # unsampled strata have W_i = 0 (checked above)
    p = w[:, None] * share  # eq. 4
    p_col = p.sum(axis=0)  # eq. 9
    dof = np.where(n_i > 1, n_i - 1.0, np.inf)  # W_i = 0 rows contribute 0 either way
    var_col = (w[:, None] ** 2 * share * (1.0 - share) / dof[:, None]).sum(axis=0)  # eq. 10
    diag = np.diag(p)
    ua = _ratio(np.diag(n), n_i)  # U_i = p_ii / p_i. = n_ii / n_i.
    ua_var = ua * (1.0 - ua) / dof  # eq. 6
    pa = _ratio(diag, p_col)  # P_j = p_jj / p_.j
    oa = float(diag.sum())  # eq. 3
    ua0 = np.nan_to_num(ua)
    oa_var = float((w**2 * ua0 * (1.0 - ua0) / dof).sum())  # eq. 5
    # Producer's accuracy (Olofsson et al. 2013, eq. 7): with N_i. the mapped area of
    # stratum i and N̂_.j = Σ_i N_i./n_i. · n_ij the estimated reference area of class j,
    # V(P_j) = 1/N̂_.j² [N_j.² (1 − P_j)² U_j (1 − U_j)/(n_j. − 1)
    #                    + P_j² Σ_{i≠j} N_i.² (n_ij/n_i.)(1 − n_ij/n_i.)/(n_i. − 1)]
    big_n = a
    n_hat_col = (np.nan_to_num(_ratio(big_n, n_i))[:, None] * n).sum(axis=0)
    term_i = big_n[:, None] ** 2 * share * (1.0 - share) / dof[:, None]  # (i, j)
    off = term_i.sum(axis=0) - np.diag(term_i)
    pa_var = _ratio(big_n**2 * (1.0 - pa) ** 2 * ua0 * (1.0 - ua0) / dof + pa**2 * off, n_hat_col**2)
    return StratifiedEstimate(
        codes=codes,
        counts=n.astype(np.int64),
        map_area=a,
        weights=w,
        proportions=p,
        area_proportion=p_col,
        area_proportion_se=np.sqrt(var_col),
        users_accuracy=ua,
        users_accuracy_se=np.sqrt(ua_var),
        producers_accuracy=pa,
        producers_accuracy_se=np.sqrt(pa_var),
        overall_accuracy=oa,
        overall_accuracy_se=math.sqrt(oa_var),
        z=z,
    )


def group_estimate(est: StratifiedEstimate, members: tuple[int, ...] | list[int]) -> GroupEstimate:
    """Area proportion (with SE) of the union of classes ``members`` (e.g. forest codes).

    The indicator "reference label in ``members``" replaces "reference label is j" in
    eq. 10, so the covariance between the member classes is accounted for.

    Examples
    --------
    >>> e = stratified_estimate(np.array([[9, 1], [1, 9]]), np.array([20.0, 80.0]))
    >>> round(group_estimate(e, [0, 1]).proportion, 12), group_estimate(e, [0, 1]).proportion_se
    (1.0, 0.0)
    """
    members = tuple(int(c) for c in members)
    cols = np.array([c in members for c in est.codes])
    n = est.counts.astype(np.float64)
    n_i = n.sum(axis=1)
    share = _ratio(n[:, cols].sum(axis=1), n_i)
    share[~np.isfinite(share)] = 0.0
    dof = np.where(n_i > 1, n_i - 1.0, np.inf)
    var = float((est.weights**2 * share * (1.0 - share) / dof).sum())
    return GroupEstimate(
        codes=members,
        map_proportion=float(est.weights[cols].sum()),
        proportion=float((est.weights * share).sum()),
        proportion_se=math.sqrt(var),
        z=est.z,
    )


def sample_size(weights: np.ndarray, users_accuracy: np.ndarray, target_se: float) -> int:
    """Total sample size for a target standard error of overall accuracy (2014 eq. 13).

    ``n = (Σ W_i S_i / S(Ô))²`` with ``S_i = sqrt(U_i (1 − U_i))`` and ``U_i`` the
    anticipated user's accuracy of stratum ``i``; rounded up.

    Examples
    --------
    The paper's example: W = 0.02, 0.015, 0.32, 0.645; U = 0.70, 0.60, 0.90, 0.95;
    S(Ô) = 0.01 → Σ W_i S_i = 0.25307 → n = 640.4 → 641.

    >>> sample_size(np.array([0.02, 0.015, 0.32, 0.645]), np.array([0.7, 0.6, 0.9, 0.95]), 0.01)
    641
    """
    w = np.asarray(weights, dtype=np.float64)
    u = np.asarray(users_accuracy, dtype=np.float64)
    if w.shape != u.shape:
        raise InputError(f"{w.size} stratum weights but {u.size} anticipated user's accuracies")
    if not 0 < target_se < 1:
        raise InputError(f"target standard error {target_se} must be between 0 and 1 (e.g. 0.01)")
    if ((u < 0) | (u > 1)).any():
        raise InputError(f"anticipated user's accuracies {u.tolist()} must be between 0 and 1")
    w = w / w.sum()
    s = np.sqrt(u * (1.0 - u))
    n = (float((w * s).sum()) / target_se) ** 2
    return max(math.ceil(n - 1e-9), 1)


def allocate(n: int, weights: np.ndarray, *, rare_n: int = 75, method: str = "rare-then-proportional") -> np.ndarray:
    """Sample units per stratum for a total of ``n``.

    ``method``:

    * ``"proportional"``: ``n · W_i``;
    * ``"equal"``: ``n / q`` each;
    * ``"rare-then-proportional"`` (the 2014 paper's advice): a stratum whose proportional
      share is below ``rare_n`` gets ``rare_n`` units (50–100 is the advised range), the
      remaining units are shared in proportion to area among the others (repeated until
      no proportional share is below ``rare_n``).

    Counts are whole numbers summing to ``n`` (largest-remainder rounding); strata with no
    area get 0.

    Raises
    ------
    InputError
        Unknown method, or ``n`` too small to give every rare stratum ``rare_n``.

    Examples
    --------
    >>> allocate(641, np.array([0.02, 0.015, 0.32, 0.645]), method="proportional").tolist()
    [13, 10, 205, 413]
    """
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    live = w > 0
    if method == "proportional":
        exact = n * w
    elif method == "equal":
        exact = np.where(live, n / max(int(live.sum()), 1), 0.0)
    elif method == "rare-then-proportional":
        fixed = np.zeros(w.size, dtype=bool)
        while True:
            rest = n - rare_n * int(fixed.sum())
            free = live & ~fixed
            if rest < 0 or (rest == 0 and free.any()):
                raise InputError(
                    f"a total of {n} units cannot give {int(fixed.sum())} rare strata {rare_n} units each; "
                    "raise the total or lower rare_n", params=("rare_n",))
            share = np.where(free, rest * w / w[free].sum(), 0.0) if free.any() else np.zeros(w.size)
            newly = free & (share < rare_n)
            if not newly.any():
                break
            fixed |= newly
        exact = np.where(fixed, float(rare_n), share)
    else:
        raise InputError(f"allocation {method!r}: use proportional, equal or rare-then-proportional")
    base = np.floor(exact + 1e-9).astype(np.int64)
    short = n - int(base.sum())
    if short > 0:
        order = np.argsort(-(exact - base), kind="stable")
        order = [i for i in order if live[i]]
        for i in order[:short]:
            base[i] += 1
    return base

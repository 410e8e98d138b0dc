"""Attribution quality benchmark (Erion et al. 2021, Tables 1-2; metrics of Lundberg et al. 2019).

Datasets (re-implemented from the definitions in ``shap.datasets``; shap is not imported):

* ``corrgroups60`` -- "Correlated Groups 60": ``N`` x 60 standard Gaussian features whose sample
  correlation is made exactly ``C`` (whitening, then the Cholesky factor of ``C``), ``C`` the
  identity except groups ``{0,1,2}, {3,4,5}, ..., {27,28,29}`` with correlation 0.99;
  ``y = X beta + 0.01 eps`` with ``beta_j = 1`` for ``j = 0, 3, ..., 27``.
* ``independentlinear60`` -- "Independent Linear 60": centred standard Gaussian features, the same
  ``beta`` and noise.

With ``seed=0`` the data are exactly shap's (same legacy ``RandomState(0)`` draws) and replicate
``i`` uses shap's split ``train_test_split(test_size=100, random_state=i)``. Each replicate
trains an MLP 60-32-20-20-1 (shap's ``ffnn``) with the project trainer and
explains the test rows with expected gradients (training rows as references), integrated
gradients (zero baseline), input gradients and random attributions.

Metrics (shap ``benchmark/measures.py``): for a feature count ``f`` on the grid
``round(60 (logspace(0, 1, 11) - 1) / 9)``, each test row keeps (``keep``) or removes
(``remove``) its ``min(f, #{a_i >= 0})`` top features by attribution ``a`` -- ``a = phi``
(positive), ``-phi`` (negative) or ``|phi|`` (absolute) -- and the other/those features are
replaced by the training mean (``mask``), by 100 training rows averaged over (``resample``)
or by their conditional Gaussian expectation given the kept ones (``impute``). The curve is
the mean model output (positive/negative) or the R^2 against ``y`` (absolute); the score is
its trapezoidal area divided by 60. Direction (shap's transforms): higher is better for keep
positive, keep absolute and remove negative; lower is better for keep negative, remove
positive and remove absolute.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from aprior_cli.reproduce.common import (
    ExperimentResult,
    MLPSpec,
    normalized_auc,
    predict,
    train_mlp,
)

log = logging.getLogger("aprior.reproduce")

REQUIRED: tuple[str, ...] = ()
DATASETS = ("corrgroups60", "independentlinear60")
METHODS = ("expected_gradients", "integrated_gradients", "gradients", "random")
KINDS = ("keep_positive", "keep_negative", "keep_absolute", "remove_positive", "remove_negative",
         "remove_absolute")
MASKERS = ("mask", "resample", "impute")
METRICS = tuple(f"{k}_{m}" for k in KINDS for m in MASKERS)
#: +1 when a larger area is better, -1 when smaller is better (shap's identity/negate/one_minus)
DIRECTION = {f"{k}_{m}": (1 if k in ("keep_positive", "keep_absolute", "remove_negative") else -1)
             for k in KINDS for m in MASKERS}


@dataclass(frozen=True)
class Settings:
    """Size of the benchmark.

    Attributes
    ----------
    n_points
        Rows per synthetic dataset (shap: 1000).
    replicates
        Train/test splits (shap: 10).
    test_size
        Test rows per split (shap: 100).
    epochs, patience, lr
        MLP training (Adam, batch 32; early stopping on a 10 % validation part of the
        training rows).
    eg_samples
        Expected-gradients (reference, alpha) pairs per test row.
    ig_steps
        Integrated-gradients steps.
    resample_size
        Training rows averaged over by the resample masker (shap: 100).
    """

    n_points: int = 1000
    replicates: int = 10
    test_size: int = 100
    epochs: int = 200
    patience: int = 20
    lr: float = 1e-3
    eg_samples: int = 200
    ig_steps: int = 100
    resample_size: int = 100


FULL = Settings()
QUICK = Settings(n_points=200, replicates=1, test_size=40, epochs=25, patience=8, lr=1e-2,
                 eg_samples=24, ig_steps=8, resample_size=6)


def _beta(m: int = 60) -> np.ndarray:
    beta = np.zeros(m)
    beta[0:30:3] = 1.0
    return beta


def correlation_groups(m: int = 60, rho: float = 0.99) -> np.ndarray:
    """The ``(m, m)`` correlation matrix of Correlated Groups 60."""
    c = np.eye(m)
    for i in range(0, 30, 3):
        for a, b in ((i, i + 1), (i, i + 2), (i + 1, i + 2)):
            c[a, b] = c[b, a] = rho
    return c


def make_dataset(name: str, n_points: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X (n, 60), y (n,))`` of ``corrgroups60`` or ``independentlinear60`` (see module doc).

    Draws come from numpy's legacy ``RandomState(seed)`` stream in shap's order, so ``seed=0``
    gives exactly ``shap.datasets.corrgroups60()`` / ``independentlinear60()``.
    """
    rs = np.random.RandomState(seed)  # noqa: NPY002 - shap's legacy stream, for identical data
    m = 60
    x = rs.randn(n_points, m)
    x = x - x.mean(0)
    if name == "corrgroups60":
        sigma = x.T @ x / n_points
        w = np.linalg.cholesky(np.linalg.inv(sigma)).T
        white = x @ w.T
        x = white @ np.linalg.cholesky(correlation_groups(m)).T
    elif name != "independentlinear60":
        raise ValueError(f"unknown dataset {name!r}; use one of {', '.join(DATASETS)}")
    y = x @ _beta(m) + rs.randn(n_points) * 1e-2
    return x, y


def split_indices(n: int, test_size: int, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` as sklearn's ``train_test_split(..., test_size, random_state)``:
    ``RandomState(random_state).permutation(n)``, the first ``test_size`` rows are the test set."""
    perm = np.random.RandomState(random_state).permutation(n)  # noqa: NPY002 - as sklearn
    return perm[test_size:], perm[:test_size]


def feature_counts(m: int, count: int = 11) -> np.ndarray:
    """shap's ``__intlogspace(0, m, count)``: unique ``round(m (logspace(0,1,count) - 1) / 9)``."""
    return np.unique(np.round(m * (np.logspace(0, 1, count) - 1) / 9).astype(int))


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination (sklearn's ``r2_score``)."""
    return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def _orderings(scores: np.ndarray, seed: int) -> np.ndarray:
    """Per row, feature indices by decreasing score (fixed 1e-6 tie-breaking noise)."""
    noise = np.random.default_rng(seed).random(scores.shape[1]) * 1e-6
    return np.argsort(-scores + noise, axis=1, kind="stable")


def masked_inputs(kind: str, masker: str, n_sel: np.ndarray, order: np.ndarray,
                  x_test: np.ndarray, x_train: np.ndarray, cov: np.ndarray,
                  resample_rows: np.ndarray) -> np.ndarray:
    """Inputs for one point of a curve.

    Parameters
    ----------
    kind
        ``keep`` (the top ``n_sel[i]`` features of row ``i`` stay, the rest are replaced) or
        ``remove`` (the top ``n_sel[i]`` are replaced).
    masker
        ``mask`` (training mean), ``resample`` (each row repeated ``len(resample_rows)`` times
        with the replaced features taken from those training rows) or ``impute`` (conditional
        Gaussian mean given the other features, covariance ``cov``).

    Returns
    -------
    ``(N, M)`` inputs, or ``(N * R, M)`` for ``resample`` (rows of one test row together).
    """
    n, m = x_test.shape
    mean = x_train.mean(0)
    replaced = np.zeros((n, m), dtype=bool)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(m)[None, :].repeat(n, 0), axis=1)
    top = rank < n_sel[:, None]
    replaced = ~top if kind == "keep" else top
    if masker == "mask":
        return np.where(replaced, mean[None, :], x_test)
    if masker == "resample":
        r = len(resample_rows)
        background = x_train[resample_rows]                     # (R, M)
        tiled = np.repeat(x_test, r, axis=0)                    # (N*R, M)
        rep = np.repeat(replaced, r, axis=0)
        back = np.tile(background, (n, 1))
        return np.where(rep, back, tiled)
    if masker == "impute":
        out = x_test.copy()
        n_replaced = replaced.sum(1)
        for k_imp in np.unique(n_replaced):
            rows = np.flatnonzero(n_replaced == k_imp)
            if k_imp == 0:
                continue
            # column indices, replaced ones first (stable: both groups keep column order)
            cols = np.argsort(~replaced[rows], axis=1, kind="stable")
            imp, obs = cols[:, :k_imp], cols[:, k_imp:]
            if obs.shape[1] == 0:
                out[rows[:, None], imp] = mean[imp]
                continue
            c_oo = cov[obs[:, :, None], obs[:, None, :]]          # (g, k_obs, k_obs)
            c_io = cov[imp[:, :, None], obs[:, None, :]]          # (g, k_imp, k_obs)
            delta = x_test[rows[:, None], obs] - mean[obs]        # (g, k_obs)
            sol = np.linalg.solve(c_oo, delta[:, :, None])        # (g, k_obs, 1)
            out[rows[:, None], imp] = mean[imp] + (c_io @ sol)[:, :, 0]
        return out
    raise ValueError(f"unknown masker {masker!r}")


def metric_curves(model_fn, phi: np.ndarray, x_train: np.ndarray, x_test: np.ndarray,
                  y_test: np.ndarray, resample_size: int = 100, seed: int = 0
                  ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The 18 curves ``metric -> (feature counts, values)`` for attributions ``phi`` (N, M).

    ``model_fn(x (n, M)) -> (n,)`` is the model's output.
    """
    n, m = x_test.shape
    counts = feature_counts(m)
    cov = np.cov(x_train.T) + np.eye(m) * 1e-6
    resample_rows = np.random.default_rng(seed).choice(x_train.shape[0], resample_size,
                                                       replace=True)
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for kind_name in KINDS:
        kind, sign = kind_name.split("_")
        scores = {"positive": phi, "negative": -phi, "absolute": np.abs(phi)}[sign]
        order = _orderings(scores, seed=23980)
        n_nonneg = (scores >= 0).sum(1)
        for masker in MASKERS:
            values = []
            for f in counts:
                n_sel = np.minimum(f, n_nonneg)
                xs = masked_inputs(kind, masker, n_sel, order, x_test, x_train, cov,
                                   resample_rows)
                pred = model_fn(xs)
                if masker == "resample":
                    pred = pred.reshape(n, resample_size).mean(1)
                values.append(r2(y_test, pred) if sign == "absolute" else float(pred.mean()))
            curves[f"{kind_name}_{masker}"] = (counts, np.asarray(values))
    return curves


def attribute(method: str, model: torch.nn.Module, x_test: np.ndarray, x_train: np.ndarray,
              settings: Settings, seed: int) -> np.ndarray:
    """Attributions ``(N, M)`` of ``x_test`` by ``method`` (see :data:`METHODS`)."""
    from aprior_cli.attribution import expected_gradients, input_gradients, integrated_gradients

    xt = torch.as_tensor(x_test, dtype=torch.float32)
    if method == "expected_gradients":
        res = expected_gradients(model, xt, torch.as_tensor(x_train, dtype=torch.float32),
                                 n_samples=settings.eg_samples, seed=seed)
    elif method == "integrated_gradients":
        res = integrated_gradients(model, xt, n_steps=settings.ig_steps)
    elif method == "gradients":
        res = input_gradients(model, xt)
    elif method == "random":
        return np.random.default_rng(seed + 7).standard_normal(x_test.shape)
    else:
        raise ValueError(f"unknown method {method!r}")
    return res.attributions.detach().numpy().astype(np.float64)


def run(settings: Settings = FULL, seed: int = 0, data_dir: object = None,
        datasets: tuple[str, ...] = DATASETS, methods: tuple[str, ...] = METHODS
        ) -> ExperimentResult:
    """Run the benchmark; ``table``: one row per (dataset, method), one column per metric
    (area, averaged over replicates), plus ``test_r2`` of the model. ``data_dir`` is unused
    (synthetic data)."""
    rows, curve_rows = [], []
    for dataset in datasets:
        x, y = make_dataset(dataset, settings.n_points, seed=seed)
        per_method: dict[str, list[dict[str, float]]] = {mth: [] for mth in methods}
        r2s = []
        for rep in range(settings.replicates):
            train, test = split_indices(x.shape[0], settings.test_size, seed * 1000 + rep)
            n_val = max(2, len(train) // 10)
            val, fit_rows = train[:n_val], train[n_val:]
            spec = MLPSpec(hidden=(32, 20, 20), task="regression", epochs=settings.epochs,
                           batch_size=32, patience=settings.patience, lr=settings.lr)
            model, _ = train_mlp(spec, x[fit_rows], y[fit_rows], x[val], y[val], seed=seed + rep)

            def model_fn(a: np.ndarray, model=model) -> np.ndarray:
                return predict(model, a).astype(np.float64)

            r2s.append(r2(y[test], model_fn(x[test])))
            for mth in methods:
                phi = attribute(mth, model, x[test], x[train], settings, seed=seed + rep)
                curves = metric_curves(model_fn, phi, x[train], x[test], y[test],
                                       settings.resample_size, seed=seed + rep)
                per_method[mth].append({k: normalized_auc(*v) for k, v in curves.items()})
                for k, (counts, vals) in curves.items():
                    for c, v in zip(counts, vals, strict=True):
                        curve_rows.append({"dataset": dataset, "method": mth, "replicate": rep,
                                           "metric": k, "n_features": int(c), "value": v})
            log.info("%s replicate %d: test R2 %.3f", dataset, rep, r2s[-1])
        for mth in methods:
            frame = pd.DataFrame(per_method[mth])
            rows.append({"dataset": dataset, "method": mth, "test_r2": float(np.mean(r2s)),
                         **{k: float(frame[k].mean()) for k in METRICS}})
    table = pd.DataFrame(rows, columns=["dataset", "method", "test_r2", *METRICS])
    curves_table = pd.DataFrame(curve_rows)
    best = best_methods(table)
    summary = {"experiment": "attribution-benchmark", "settings": settings.__dict__,
               "seed": seed, "wins": best.groupby("dataset")["best_method"]
               .value_counts().unstack(fill_value=0).to_dict(orient="index"),
               "direction": DIRECTION}
    return ExperimentResult(table=table, figure=plot(table),
                            extra_tables={"curves": curves_table, "best_method": best},
                            summary=summary)


def best_methods(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and metric, the method with the best area (respecting :data:`DIRECTION`)."""
    out = []
    for dataset, sub in table.groupby("dataset", sort=False):
        for metric in METRICS:
            vals = sub[metric].to_numpy() * DIRECTION[metric]
            out.append({"dataset": dataset, "metric": metric,
                        "higher_is_better": DIRECTION[metric] > 0,
                        "best_method": sub["method"].iloc[int(np.argmax(vals))]})
    return pd.DataFrame(out)


def plot(table: pd.DataFrame):
    """Heat map per dataset: methods x metrics, coloured by rank (1 = best)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(len(datasets), 1, figsize=(13, 2.2 + 1.1 * len(datasets) * 2),
                             squeeze=False)
    for ax, dataset in zip(axes[:, 0], datasets, strict=True):
        sub = table[table["dataset"] == dataset]
        vals = sub[list(METRICS)].to_numpy()
        signed = vals * np.array([DIRECTION[m] for m in METRICS])[None, :]
        ranks = (-signed).argsort(0).argsort(0) + 1
        ax.imshow(ranks, cmap="RdYlGn_r", aspect="auto", vmin=1, vmax=len(sub))
        for i in range(vals.shape[0]):
            for j in range(vals.shape[1]):
                ax.text(j, i, f"{vals[i, j]:.2f}", ha="center", va="center", fontsize=7)
        ax.set_yticks(range(len(sub)), sub["method"].tolist())
        ax.set_xticks(range(len(METRICS)), [m.replace("_", "\n", 1) for m in METRICS],
                      fontsize=6, rotation=90)
        ax.set_title(f"{dataset}: area under the masking curve (colour: rank, green = best)")
    fig.tight_layout()
    return fig

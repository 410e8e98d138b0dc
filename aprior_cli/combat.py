"""Optional ComBat batch correction through the ``inmoose`` package (extra ``combat``).

``inmoose`` (GPL-3.0-or-later) provides ``pycombat_norm``, the parametric empirical-Bayes
ComBat of Johnson et al. (2007) for continuous (log-scale) data. It is imported only when
batch correction is requested.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError


def combat_available() -> bool:
    """True when ``inmoose`` can be imported."""
    try:
        import inmoose.pycombat  # noqa: F401
    except ImportError:
        return False
    return True


def combat(x: pd.DataFrame, batch: pd.Series) -> pd.DataFrame:
    """ComBat-correct a (samples, genes) log-scale matrix for ``batch`` (samples,).

    Genes that are constant within any batch are passed through unchanged (ComBat cannot
    estimate their batch variance).
    """
    try:
        from inmoose.pycombat import pycombat_norm
    except ImportError as exc:
        raise UserInputError("--batch-column: ComBat needs the optional 'inmoose' package: "
                             "pip install 'aprior-cli[combat]'") from exc
    values = x.to_numpy(dtype=np.float64)
    labels = batch.reindex(x.index).astype(str).to_numpy()
    varies = np.ones(values.shape[1], dtype=bool)
    for b in np.unique(labels):
        varies &= values[labels == b].std(axis=0) > 0
    out = values.copy()
    if varies.any():
        genes_by_samples = pd.DataFrame(values[:, varies].T, columns=x.index)
        with warnings.catch_warnings():  # inmoose uses numpy.matrix internally
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            corrected = pycombat_norm(genes_by_samples, list(labels))
        out[:, varies] = np.asarray(corrected, dtype=np.float64).T
    return pd.DataFrame(out, index=x.index, columns=x.columns)

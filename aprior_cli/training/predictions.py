"""Per-sample predictions and losses of a trained run (``predictions.tsv``).

Choosing lambda on validation with the one-standard-error rule needs the spread of the
validation loss, not only its mean: :func:`prediction_table` gives one row per sample of every
split with the model output and that sample's task loss (the mean over a split's rows is the
``<split>_loss`` of ``metrics.json``).

Columns: ``sample, split, target, output, loss``. ``output`` is the prediction (regression),
the logit (binary) or the predicted class index (multiclass; ``target`` is then the class index
too, in the order of ``model.json``'s ``classes``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F  # noqa: N812

PREDICTION_COLUMNS = ("sample", "split", "target", "output", "loss")


def per_sample_losses(task: str, output: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """The task loss of each row, ``(N,)`` float64 (its mean is the task's mean loss).

    Parameters
    ----------
    task
        ``regression`` (squared error), ``binary`` (BCE with logits) or ``multiclass``
        (cross-entropy).
    output
        Model outputs ``(N, 1)`` or ``(N, C)``.
    y
        Targets ``(N,)`` as the task's loss expects them.
    """
    with torch.no_grad():
        if task == "regression":
            loss = F.mse_loss(output.reshape(-1), y, reduction="none")
        elif task == "binary":
            loss = F.binary_cross_entropy_with_logits(output.reshape(-1), y, reduction="none")
        else:
            loss = F.cross_entropy(output, y, reduction="none")
    return loss.detach().cpu().numpy().astype(np.float64)


def prediction_table(prep: Any, model: torch.nn.Module, device: torch.device) -> pd.DataFrame:
    """One row per sample of the train, val and test splits (see the module docstring).

    ``prep`` is a :class:`~aprior_cli.training.run.PreparedRun`.
    """
    from aprior_cli.training.run import tensors
    from aprior_cli.training.trainer import predict

    frames = []
    model = prep.target_scaling.wrap(model)  # outputs and losses in the target's own units
    samples = np.asarray(prep.data.samples, dtype=object)
    for name in ("train", "val", "test"):
        mask = prep.split == name
        if not mask.any():
            continue
        x, y = tensors(prep, name, device, units="original")
        out = predict(model, x)
        if prep.cfg.task == "multiclass":
            shown = out.argmax(1).cpu().numpy()
        else:
            shown = out.reshape(-1).cpu().numpy().astype(np.float64)
        frames.append(pd.DataFrame({
            "sample": samples[mask], "split": name,
            "target": y.cpu().numpy(), "output": shown,
            "loss": per_sample_losses(prep.cfg.task, out, y)}))
    if not frames:
        return pd.DataFrame(columns=list(PREDICTION_COLUMNS))
    return pd.concat(frames, ignore_index=True)

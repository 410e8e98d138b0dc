"""A user's own layouts through the CLI: named label columns, row filters, long tables,
(sample, drug) pairs, AnnData labels, target scaling and ``aprior predict``."""

from __future__ import annotations

import json
import subprocess
import sys

import anndata
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.main import cli

SMALL = ["--hidden", "16", "--epochs", "30", "--lr", "3e-3", "--batch-size", "16", "--eval-n-samples", "10",
         "--device", "cpu", "--threads", "1", "-q"]


@pytest.fixture
def gdsc(tmp_path):
    """GDSC-like: long expression (70 lines x 12 genes) and a response table with two drugs
    for 90 lines, 20 of them without expression; LN_IC50-like target (mean ~4)."""
    rng = np.random.default_rng(0)
    n, p = 70, 12
    lines = [f"SIDM{i:05d}" for i in range(90)]
    genes = [f"GENE{j}" for j in range(p)]
    x = rng.normal(size=(n, p))
    rows = [{"model_id": lines[i], "gene_symbol": genes[j], "fpkm": x[i, j]}
            for i in range(n) for j in range(p)]
    pd.DataFrame(rows).to_csv(tmp_path / "rnaseq.csv.gz", index=False)
    wide = pd.DataFrame(x, index=pd.Index(lines[:n], name="sample"), columns=genes)
    wide.to_csv(tmp_path / "expr.tsv", sep="\t")
    signal = np.concatenate([x[:, :3].sum(1), rng.normal(size=20)])
    resp = []
    for drug, shift in (("Olaparib", 4.0), ("Erlotinib", 1.0)):
        for i, line in enumerate(lines):
            resp.append({"SANGER_MODEL_ID": line, "DRUG_NAME": drug,
                         "LN_IC50": shift + 0.8 * signal[i] + 0.2 * rng.normal(),
                         "TCGA_DESC": f"T{i % 7}"})
    pd.DataFrame(resp).to_csv(tmp_path / "response.tsv", sep="\t", index=False)
    return tmp_path


LABELS = ["--sample-column", "SANGER_MODEL_ID", "--target-column", "LN_IC50",
          "--labels-where", "DRUG_NAME=Olaparib"]


def invoke(args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def train_args(d, *extra):
    return ["train", "--expression", d / "rnaseq.csv.gz", "--expression-long",
            "model_id,gene_symbol,fpkm", "--labels", d / "response.tsv", *LABELS,
            "--unmatched-labels", "drop", *SMALL, *extra]


def test_gdsc_layout_trains_in_original_units(gdsc):
    out = gdsc / "run"
    res = CliRunner().invoke(cli, [str(a) for a in train_args(gdsc, "-o", out)])
    assert res.exit_code == 0, res.output
    assert "20 of 90 label rows have no expression" in res.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_rows"] == m["n_samples"] == 70 and m["labels_dropped"] == 20
    ts = m["target_scaling"]
    splits = pd.read_csv(out / "splits.tsv", sep="\t")
    resp = pd.read_csv(gdsc / "response.tsv", sep="\t").query("DRUG_NAME == 'Olaparib'")
    y = resp.set_index("SANGER_MODEL_ID")["LN_IC50"]
    train_y = y[splits.loc[splits["split"] == "train", "sample"]]
    assert ts["method"] == "standard" and ts["n_fitted"] == len(train_y)
    assert ts["mean"] == pytest.approx(train_y.mean()) and ts["sd"] == pytest.approx(
        train_y.std(ddof=0))
    # the trainer saw z-scores: its validation loss at the kept epoch is val MSE / sd^2
    hist = pd.read_csv(out / "history.tsv", sep="\t").set_index("epoch")
    assert hist.loc[m["best_epoch"], "val_loss"] == pytest.approx(m["val_mse"] / ts["sd"] ** 2,
                                                                  rel=1e-4)
    # predict: original units, and the same test R²/MSE as metrics.json
    pred_path = gdsc / "pred.tsv"
    res = invoke(["predict", out, "--expression", gdsc / "rnaseq.csv.gz", "--labels",
                  gdsc / "response.tsv", "--split", "test", "-o", pred_path])
    assert res.exit_code == 0, res.output
    pred = pd.read_csv(pred_path, sep="\t")
    assert list(pred.columns) == ["sample", "split", "prediction", "target"]
    np.testing.assert_allclose(pred["target"], y[pred["sample"]].to_numpy())
    mse = float(np.mean((pred["prediction"] - pred["target"]) ** 2))
    assert mse == pytest.approx(m["test_mse"], rel=1e-4)
    assert abs(pred["prediction"].mean() - 4) < 1.5  # LN_IC50 units, not z-scores
    assert m["test_mse_train_mean"] == pytest.approx(
        float(np.mean((pred["target"] - train_y.mean()) ** 2)))
    # attribute: the unit is written and the attributions add up to the original-unit output
    res = invoke(["attribute", out, "--expression", gdsc / "rnaseq.csv.gz", "--n-samples", 50,
                  "-o", gdsc / "attr"])
    assert res.exit_code == 0, res.output
    summary = json.loads((gdsc / "attr" / "completeness.json").read_text())
    assert summary["attribution_unit"] == "target units (LN_IC50; original scale)"
    assert summary["relative_residual"] < 0.2


def test_target_scaling_none_and_wide_equals_long(gdsc):
    a, b = gdsc / "long", gdsc / "wide"
    assert invoke(train_args(gdsc, "--target-scaling", "none", "--seed", 2, "-o", a)).exit_code == 0
    wide = ["train", "--expression", gdsc / "expr.tsv", "--labels", gdsc / "response.tsv",
            *LABELS, "--unmatched-labels", "drop", *SMALL, "--target-scaling", "none",
            "--seed", 2, "-o", b]
    assert invoke(wide).exit_code == 0
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    assert ma["target_scaling"]["method"] == "none"
    assert ma["test_r2"] == pytest.approx(mb["test_r2"]) and ma["val_loss"] == mb["val_loss"]
    spec = json.loads((a / "model.json").read_text())
    assert spec["target_scaling"]["method"] == "none"


def test_pairs_of_sample_and_drug(gdsc):
    """Both drugs as (line, drug) pairs: the drug is a one-hot input; lines stay whole."""
    out = gdsc / "pairs"
    args = ["train", "--expression", gdsc / "expr.tsv", "--labels", gdsc / "response.tsv",
            "--sample-column", "SANGER_MODEL_ID", "--target-column", "LN_IC50",
            "--covariates", "DRUG_NAME", "--unmatched-labels", "drop", *SMALL, "-o", out]
    res = CliRunner().invoke(cli, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_rows"] == 140 and m["n_samples"] == 70
    splits = pd.read_csv(out / "splits.tsv", sep="\t")
    assert len(splits) == 70 and splits["sample"].is_unique  # one line per sample
    features = (out / "features.txt").read_text().split()
    assert features[-2:] == ["DRUG_NAME=Erlotinib", "DRUG_NAME=Olaparib"]
    assert m["test_mse"] < 0.8 * m["test_mse_train_mean"]  # the drug one-hot carries signal
    res = invoke(["attribute", out, "--expression", gdsc / "expr.tsv", "--labels",
                  gdsc / "response.tsv", "--n-samples", 20, "-o", gdsc / "attr"])
    assert res.exit_code == 0, res.output
    attr = pd.read_csv(gdsc / "attr" / "attributions.tsv", sep="\t", index_col=0)
    assert attr.index[0].endswith("|DRUG_NAME=Erlotinib") or attr.index[0].endswith(
        "|DRUG_NAME=Olaparib")
    assert attr.index.is_unique and len(attr) % 2 == 0
    # without the covariate the repeated lines are refused with advice
    bad = CliRunner().invoke(cli, [str(a) for a in args if a != "--covariates" and
                                   a != "DRUG_NAME"] + ["-o", str(gdsc / "bad")])
    assert bad.exit_code != 0 and "has 2 rows; keep one row per sample with --labels-where" \
        in bad.output


def test_h5ad_expression_with_labels_in_obs(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 8)).astype(np.float32)
    obs = pd.DataFrame({"response": x[:, :2].sum(1) + 10, "donor": [f"d{i // 3}" for i in range(60)]},
                       index=[f"cell{i}" for i in range(60)])
    adata = anndata.AnnData(X=x, obs=obs)
    adata.var_names = [f"g{j}" for j in range(8)]
    adata.write_h5ad(tmp_path / "d.h5ad")
    out = tmp_path / "run"
    res = invoke(["train", "--expression", tmp_path / "d.h5ad", "--labels", tmp_path / "d.h5ad",
                  "--target-column", "response", "--group-column", "donor", "--split", "group",
                  *SMALL, "-o", out])
    assert res.exit_code == 0, res.output
    splits = pd.read_csv(out / "splits.tsv", sep="\t")
    donor = dict(zip(obs.index, obs["donor"], strict=True))
    per_donor = splits.assign(d=splits["sample"].map(donor)).groupby("d")["split"].nunique()
    assert (per_donor == 1).all()


def test_split_restricted_to_samples_with_expression(gdsc):
    out = gdsc / "splits.tsv"
    res = invoke(["split", gdsc / "response.tsv", "--sample-column", "SANGER_MODEL_ID",
                  "--labels-where", "DRUG_NAME=Olaparib", "--method", "random",
                  "--expression", gdsc / "rnaseq.csv.gz", "--expression-long",
                  "model_id,gene_symbol,fpkm", "-o", out, "--train-samples", gdsc / "t.txt"])
    assert res.exit_code == 0, res.output
    splits = pd.read_csv(out, sep="\t")
    assert len(splits) == 70 and set(splits["sample"]) <= {f"SIDM{i:05d}" for i in range(70)}
    # the split file then drives train without --unmatched-labels complaints about splits
    run = gdsc / "run"
    assert invoke(train_args(gdsc, "--split", "file", "--split-file", out, "-o",
                             run)).exit_code == 0


def _one_line_failure(res, out):
    """Exit != 0, one Error line (click's usage errors add their 'Usage:' lines), no output."""
    assert res.exit_code != 0
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    if lines[0].startswith("Usage:"):
        lines = [ln for ln in lines if ln.startswith("Error")]
    assert len(lines) == 1 and lines[0].startswith("Error:"), res.output
    assert not out.exists()
    return lines[0]


@pytest.mark.parametrize(("extra", "message"), [
    (["--labels-where", "DRUG_NAME"], "--labels-where: 'DRUG_NAME' is not COLUMN=VALUE"),
    (["--labels-where", "DRUG=Olaparib"], "has no column 'DRUG'"),
    (["--labels-where", "DRUG_NAME=Olaprib"], "did you mean 'Olaparib'?"),
    (["--target-column", "IC50"], "no target column 'IC50' (--target-column)"),
    (["--sample-column", "MODEL"], "no sample column 'MODEL' (--sample-column)"),
    (["--group-column", "patient"], "no group column 'patient' (--group-column)"),
    (["--unmatched-labels", "error"], "20 sample(s) not in"),
    (["--unmatched-labels", "maybe"], "'maybe' is not one of 'error', 'drop'"),
    (["--target-scaling", "robust"], "'robust' is not one of 'standard', 'none'"),
    (["--expression-long", "model_id,gene_symbol"], "--expression-long: give three column"),
    (["--expression-long", "model_id,gene,fpkm"], "no column 'gene' for the long layout"),
])
def test_train_bad_new_options(gdsc, extra, message):
    base = [a for a in train_args(gdsc) if a != "drop" and a != "--unmatched-labels"]
    if "--unmatched-labels" not in extra:
        base += ["--unmatched-labels", "drop"]
    for opt in ("--target-column", "--sample-column", "--expression-long", "--labels-where"):
        if opt in extra and opt in base:  # replace ours (filters would add up)
            i = base.index(opt)
            del base[i:i + 2]
    out = gdsc / "run"
    line = _one_line_failure(CliRunner().invoke(cli, [str(a) for a in [*base, *extra, "-o",
                                                                       out]]), out)
    assert message in line, line
    assert not (gdsc / "run.partial").exists()


def test_predict_bad_inputs_and_subprocess(gdsc):
    run = gdsc / "run"
    assert invoke(train_args(gdsc, "--epochs", 3, "-o", run)).exit_code == 0
    out = gdsc / "p.tsv"
    cases = [
        (["predict", gdsc / "nope", "--expression", gdsc / "expr.tsv", "-o", out],
         "run directory not found"),
        (["predict", run, "--expression", gdsc / "expr.tsv", "--labels-where", "X=1", "-o", out],
         "describe --labels; give --labels"),
        (["predict", run, "--expression", gdsc / "expr.tsv", "-o", gdsc / "p.h5ad"],
         "write predictions as .tsv"),
        (["predict", run, "--expression", gdsc / "expr.tsv", "--expression-long", "a,b,c",
          "-o", out], "no column 'a' for the long layout"),
    ]
    for args, message in cases:
        line = _one_line_failure(CliRunner().invoke(cli, [str(a) for a in args]), out)
        assert message in line, line
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "predict", str(run),
                           "--expression", str(gdsc / "expr.tsv"), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_csv(out, sep="\t")) == 70  # wide expression: every line predicted
    bad = subprocess.run([sys.executable, "-m", "aprior_cli", "predict", str(run),
                          "--expression", str(gdsc / "expr.tsv"), "--split", "val",
                          "--labels", str(gdsc / "response.tsv"), "--target-column", "NOPE",
                          "-o", str(gdsc / "q.tsv")], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0
    assert "no target column 'NOPE'" in bad.stderr and not (gdsc / "q.tsv").exists()


def test_train_bad_label_option_as_a_subprocess(gdsc):
    out = gdsc / "sub"
    proc = subprocess.run([sys.executable, "-m", "aprior_cli",
                           *[str(a) for a in train_args(gdsc, "--labels-where", "TCGA_DESC=x",
                                                        "-o", out)]],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "no row of" in proc.stderr and "TCGA_DESC holds 'T0', 'T1'" in proc.stderr
    assert not out.exists() and not (gdsc / "sub.partial").exists()


def test_binary_predictions(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 5))
    expr = pd.DataFrame(x, index=pd.Index([f"s{i}" for i in range(50)], name="sample"),
                        columns=[f"g{j}" for j in range(5)])
    expr.to_csv(tmp_path / "e.tsv", sep="\t")
    pd.DataFrame({"id": expr.index, "status": np.where(x[:, 0] > 0, "MUT", "WT")}).to_csv(
        tmp_path / "l.tsv", sep="\t", index=False)
    run = tmp_path / "run"
    assert invoke(["train", "--expression", tmp_path / "e.tsv", "--labels", tmp_path / "l.tsv",
                   "--sample-column", "id", "--target-column", "status", "--task", "binary",
                   *SMALL, "-o", run]).exit_code == 0
    res = invoke(["predict", run, "--expression", tmp_path / "e.tsv", "--labels",
                  tmp_path / "l.tsv", "-o", tmp_path / "p.csv"])
    assert res.exit_code == 0, res.output
    p = pd.read_csv(tmp_path / "p.csv")
    assert list(p.columns) == ["sample", "split", "probability", "predicted_class", "target"]
    assert ((p["probability"] > 0.5) == (p["predicted_class"] == "WT")).all()  # WT = class 1
    m = json.loads((run / "metrics.json").read_text())
    assert m["target_scaling"]["method"] == "none"
    test = p[p["split"] == "test"]
    assert float(np.mean(test["predicted_class"] == test["target"])) == pytest.approx(
        m["test_accuracy"])


@pytest.mark.parametrize(("extra", "message"), [
    (["--expression-long", "model_id,gene_symbol,fpkm"], "describe --expression; give "
                                                          "--expression"),
    (["--expression", "{d}/rnaseq.csv.gz", "--expression-long", "a,b,c"],
     "no column 'a' for the long layout"),
    (["--expression", "{d}/rnaseq.csv.gz", "--expression-long", "a,b"],
     "--expression-long: give three column names"),
    (["--expression", "{d}/missing.tsv"], "missing.tsv: file not found"),
    (["--sample-column", "MODEL"], "no sample column 'MODEL' (--sample-column)"),
    (["--group-column", "patient", "--method", "group"], "no group column 'patient'"),
    (["--labels-where", "DRUG_NAME=Olaprib"], "did you mean 'Olaparib'?"),
    (["--method", "stratified", "--target-column", "IC50"], "no target column 'IC50'"),
])
def test_split_bad_new_options(gdsc, extra, message):
    extra = [e.replace("{d}", str(gdsc)) for e in extra]
    base = ["split", gdsc / "response.tsv", "--sample-column", "SANGER_MODEL_ID",
            "--labels-where", "DRUG_NAME=Olaparib", "--method", "random"]
    for opt in ("--sample-column", "--labels-where", "--method"):
        if opt in extra:
            i = base.index(opt)
            del base[i:i + 2]
    out = gdsc / "s.tsv"
    line = _one_line_failure(CliRunner().invoke(cli, [str(a) for a in [*base, *extra, "-o",
                                                                       out]]), out)
    assert message in line, line


def test_split_and_enrich_new_options_as_subprocesses(gdsc):
    out = gdsc / "s.tsv"
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "split", str(gdsc / "response.tsv"),
                           "--sample-column", "SANGER_MODEL_ID", "--method", "random",
                           "--expression", str(gdsc / "expr.tsv"), "--labels-where",
                           "DRUG_NAME=Olaparib", "--labels-where", "TCGA_DESC=nowhere",
                           "-o", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and proc.stderr.strip().count("\n") == 0
    assert "TCGA_DESC=nowhere: no row of" in proc.stderr and not out.exists()
    (gdsc / "list.txt").write_text("GENE1\nGENE2\n")
    (gdsc / "sets.gmt").write_text("S\tna\tGENE1\tGENE2\tGENE3\n")
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "enrich", str(gdsc / "list.txt"),
                           "--method", "ora", "--gmt", str(gdsc / "sets.gmt"), "--min-size", "1",
                           "-o", str(gdsc / "e")], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "needs --background" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and not (gdsc / "e").exists()


def test_attribute_bad_new_options(gdsc):
    run = gdsc / "run"
    assert invoke(train_args(gdsc, "--epochs", 2, "-o", run)).exit_code == 0
    out = gdsc / "a"
    base = ["attribute", run, "--expression", gdsc / "rnaseq.csv.gz", "--n-samples", 5]
    for extra, message in [
        (["--labels-where", "DRUG_NAME=Olaparib"], "describe --labels; give --labels"),
        (["--labels", gdsc / "response.tsv", "--target-column", "IC50"],
         "no target column 'IC50'"),
        (["--labels", gdsc / "response.tsv", "--labels-where", "DRUG=x"], "has no column 'DRUG'"),
        (["--labels", gdsc / "response.tsv", "--unmatched-labels", "error"],
         "20 sample(s) not in"),
        (["--expression-long", "model_id,gene"], "--expression-long: give three column"),
    ]:
        line = _one_line_failure(CliRunner().invoke(cli, [str(a) for a in [*base, *extra, "-o",
                                                                           out]]), out)
        assert message in line, line
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", *map(str, base), "--labels",
                           str(gdsc / "response.tsv"), "--sample-column", "NOPE", "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and proc.stderr.strip().count("\n") == 0
    assert "no sample column 'NOPE'" in proc.stderr and not out.exists()
    # the run's own label settings are reused: the response table needs no options here
    res = invoke([*base, "--labels", gdsc / "response.tsv", "-o", out])
    assert res.exit_code == 0, res.output

"""Training networks with attribution priors: data alignment, splits, tasks, config, trainer.

Pure computation (tensors and tables in and out); the files live in :mod:`aprior_cli.io` and
the command in :mod:`aprior_cli.cli.train`.
"""

"""Target selection: which output is explained, and every misuse is a clear UserInputError."""

import pytest
import torch

from aprior_cli.attribution import select_output
from aprior_cli.errors import UserInputError


def test_single_output_shapes():
    out = torch.tensor([1.0, 2.0, 3.0])
    assert torch.equal(select_output(out, None), out)
    assert torch.equal(select_output(out.unsqueeze(1), None), out)
    assert torch.equal(select_output(out.unsqueeze(1), 0), out)


def test_int_and_per_sample_targets():
    out = torch.arange(12.0).view(4, 3)
    assert torch.equal(select_output(out, 2), torch.tensor([2.0, 5.0, 8.0, 11.0]))
    per_sample = torch.tensor([0, 2, 1, 0])
    assert torch.equal(select_output(out, per_sample), torch.tensor([0.0, 5.0, 7.0, 9.0]))


@pytest.mark.parametrize(
    ("output", "target", "message"),
    [
        (torch.zeros(4, 3), None, "3 outputs"),
        (torch.zeros(4, 3), 3, "out of range"),
        (torch.zeros(4, 3), -1, "out of range"),
        (torch.zeros(4, 1), 1, "out of range"),
        (torch.zeros(4), 1, "out of range"),
        (torch.zeros(4, 3), torch.tensor([0, 1, 3, 0]), "out of range"),
        (torch.zeros(4, 3), torch.tensor([0, 1, 2]), "shape"),
        (torch.zeros(4, 3), torch.tensor([0.0, 1.0, 2.0, 0.0]), "integer"),
        (torch.zeros(4, 3), True, "bool"),
        (torch.zeros(4, 3), "0", "expected None"),
        (torch.zeros(4, 3, 2), 0, "shape \\(4, 3, 2\\)"),
    ],
)
def test_misuse_is_a_user_error(output, target, message):
    with pytest.raises(UserInputError, match=message):
        select_output(output, target)

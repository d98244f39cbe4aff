"""oracles.conv: receptive fields measured by backpropagation agree with the lecture's numbers."""
import pytest
import torch

from oracles.conv import measure_receptive_field, stack_model


@pytest.mark.parametrize("layers, expected", [
    ([(3, 1, 1)], 3),
    ([(3, 1, 1)] * 3, 7),                            # 1 + L(K - 1)
    ([(3, 1, 1), (2, 2, 1), (3, 1, 1)], 8),          # the pool doubles the step of the last conv
    ([(3, 1, 2)], 5),                                # dilation 2 spreads 3 taps over 5 pixels
    ([(3, 1, 1), (3, 1, 2), (3, 1, 4)], 15),
])
def test_measured_receptive_field(layers, expected):
    assert measure_receptive_field(stack_model(layers), 41) == (expected, expected)


def test_measurement_works_on_an_ordinary_model_and_refuses_a_too_small_input():
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.AvgPool2d(2), torch.nn.Conv2d(4, 1, 3)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()                                 # positive weights: no gradient can cancel
    assert measure_receptive_field(model, 30, channels=2) == (8, 8)
    with pytest.raises(ValueError, match="too small"):
        measure_receptive_field(stack_model([(3, 1, 1)] * 3), 7)


def test_stack_model_has_one_all_ones_conv_per_layer():
    model = stack_model([(3, 2, 1), (5, 1, 2)])
    convs = list(model)
    assert [(c.kernel_size, c.stride, c.dilation) for c in convs] == [((3, 3), (2, 2), (1, 1)), ((5, 5), (1, 1), (2, 2))]
    assert all(torch.all(c.weight == 1) and c.bias is None for c in convs)

"""slimsoap.torch: autograd through positions and strain equals slimsoap's gradients."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from structures import random_alloy, random_cluster  # noqa: E402

from slimsoap import SOAP  # noqa: E402
from slimsoap.torch import descriptors  # noqa: E402

SOAP_ARGS = dict(r_cut=3.2, n_max=3, l_max=2, compression="nu1mu1")


def frames_and_soap():
    frames = [random_cluster(["H", "C", "O", "C", "H"], seed=1), random_alloy(["Cu", "Ag"], 1, 3)]
    frames[1].set_cell(frames[1].cell * 0.9 + np.diag([0.0, 0.2, 0.0]), scale_atoms=True)
    return frames, SOAP(["H", "C", "O", "Cu", "Ag"], **SOAP_ARGS)


@pytest.mark.parametrize("sparse", [False, True])
def test_autograd_equals_slimsoap_gradients(sparse):
    frames, soap = frames_and_soap()
    ref = soap.compute(frames, gradients=True)
    n = len(ref.frame_index)
    weights = np.random.default_rng(0).normal(size=ref.values.shape)
    positions = torch.tensor(np.concatenate([a.positions for a in frames]), requires_grad=True)
    strain = torch.zeros((2, 3, 3), dtype=torch.float64, requires_grad=True)
    x = descriptors(soap, frames, positions, strain, sparse=sparse)
    np.testing.assert_array_equal(x.detach().numpy(), ref.values)
    (x * torch.as_tensor(weights)).sum().backward()
    # Σ_pairs ∂x_i/∂r_k · w_i, and Σ_i ∂x_i/∂ε_ba = strain_i[a, b]
    expected = np.zeros((n, 3))
    rows, atoms = ref.gradient_pairs.T
    np.add.at(expected, atoms, np.einsum("pdf,pf->pd", ref.gradients, weights[rows]))
    np.testing.assert_allclose(positions.grad.numpy(), expected, rtol=1e-12, atol=1e-12)
    per_row = np.einsum("iabf,if->iba", ref.strain_gradients, weights)
    for f in range(2):
        rows_f = ref.frame_index == f
        np.testing.assert_allclose(strain.grad[f].numpy(), per_row[rows_f].sum(0), atol=1e-12)


def energy_model(n_features):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    ).double()


def test_model_forces_and_virial_equal_finite_differences():
    frames, soap = frames_and_soap()
    model = energy_model(soap.n_features)
    r0 = np.concatenate([a.positions for a in frames])

    def energy(r, eps):
        x = descriptors(soap, frames, r, eps)
        return model(x).sum()

    positions = torch.tensor(r0, requires_grad=True)
    strain = torch.zeros((2, 3, 3), dtype=torch.float64, requires_grad=True)
    e = energy(positions, strain)
    forces, virial = torch.autograd.grad(-e, (positions, strain))
    h = 1e-5
    with torch.no_grad():
        for k, d in [(0, 0), (2, 1), (4, 2), (6, 0), (8, 2)]:
            rp, rm = r0.copy(), r0.copy()
            rp[k, d] += h
            rm[k, d] -= h
            zero = torch.zeros((2, 3, 3), dtype=torch.float64)
            fd = -(energy(torch.tensor(rp), zero) - energy(torch.tensor(rm), zero)) / (2 * h)
            assert abs(forces[k, d].item() - fd.item()) <= 1e-7 * max(1.0, abs(fd.item()))
        for f, a, b in [(1, 0, 0), (1, 0, 1), (1, 2, 1), (0, 1, 2)]:
            ep, em = torch.zeros((2, 3, 3), dtype=torch.float64), torch.zeros((2, 3, 3)).double()
            ep[f, a, b], em[f, a, b] = h, -h
            fd = -(energy(torch.tensor(r0), ep) - energy(torch.tensor(r0), em)) / (2 * h)
            assert abs(virial[f, a, b].item() - fd.item()) <= 1e-7 * max(1.0, abs(fd.item()))


def test_gradient_at_nonzero_strain_matches_finite_differences():
    frames, soap = frames_and_soap()
    weights = torch.as_tensor(np.random.default_rng(1).normal(size=(len(frames[0]) + 4, 21)))
    r0 = torch.tensor(np.concatenate([a.positions for a in frames]))
    eps0 = torch.tensor(np.random.default_rng(2).normal(scale=0.03, size=(2, 3, 3)))

    def loss(r, eps):
        return (descriptors(soap, frames, r, eps)[:, :21] * weights).sum()

    r = r0.clone().requires_grad_(True)
    eps = eps0.clone().requires_grad_(True)
    g_r, g_eps = torch.autograd.grad(loss(r, eps), (r, eps))
    h = 1e-6
    with torch.no_grad():
        for k, d in [(1, 0), (5, 2)]:
            dr = torch.zeros_like(r0)
            dr[k, d] = h
            fd = (loss(r0 + dr, eps0) - loss(r0 - dr, eps0)) / (2 * h)
            assert abs(g_r[k, d] - fd) <= 1e-6 * max(1.0, abs(fd))
        for f, a, b in [(1, 0, 2), (0, 1, 1)]:
            de = torch.zeros_like(eps0)
            de[f, a, b] = h
            fd = (loss(r0, eps0 + de) - loss(r0, eps0 - de)) / (2 * h)
            assert abs(g_eps[f, a, b] - fd) <= 1e-6 * max(1.0, abs(fd))


@pytest.mark.parametrize("sparse", [False, True])
def test_force_loss_trains_through_double_backward(sparse):
    frames, soap = frames_and_soap()
    model = energy_model(soap.n_features)
    r0 = torch.tensor(np.concatenate([a.positions for a in frames]))
    target = torch.as_tensor(np.random.default_rng(3).normal(size=tuple(r0.shape)))

    def force_loss():
        r = r0.clone().requires_grad_(True)
        e = model(descriptors(soap, frames, r, sparse=sparse)).sum()
        (forces,) = torch.autograd.grad(-e, r, create_graph=True)
        return ((forces - target) ** 2).sum()

    weight = model[2].weight
    (grad,) = torch.autograd.grad(force_loss(), weight)
    h = 1e-6
    for j in (0, 5):
        values = []
        for step in (h, -h):
            with torch.no_grad():
                weight[0, j] += step
            values.append(force_loss().item())
            with torch.no_grad():
                weight[0, j] -= step
        fd = (values[0] - values[1]) / (2 * h)
        assert abs(grad[0, j].item() - fd) <= 1e-6 * max(1.0, abs(fd))


def test_bad_shapes_are_refused():
    frames, soap = frames_and_soap()
    with pytest.raises(ValueError, match="positions must have shape"):
        descriptors(soap, frames, torch.zeros((3, 3), dtype=torch.float64))
    with pytest.raises(ValueError, match="one ε per frame"):
        descriptors(soap, frames, strain=torch.zeros((1, 3, 3), dtype=torch.float64))


def test_emt_example_runs_and_learns(capsys):
    import runpy
    from pathlib import Path

    path = Path(__file__).parents[2] / "examples" / "torch_emt.py"
    main = runpy.run_path(str(path))["main"]
    main(["--epochs", "30", "--frames", "6"])
    out = capsys.readouterr().out
    losses = [float(line.split()[-1]) for line in out.splitlines() if line.startswith("epoch")]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert "force RMSE" in out

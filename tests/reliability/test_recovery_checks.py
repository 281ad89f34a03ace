"""Recovery never returns a silent wrong number (issue 13): features that do not fit the
calculator's maps (another seed, another compression of the same width) are refused, or
flagged in the report; the CLI says so in one line."""

import numpy as np
import pytest
from structures import random_cluster

from slimsoap import SOAP
from slimsoap.cli.main import main
from slimsoap.io import write_features
from slimsoap.soap.recovery import recover

SPECIES = ["H", "C", "O"]
FRAMES = [random_cluster(["H", "C", "O", "C", "H", "O"], seed=s, box=3.5) for s in range(3)]


def _soap(compression="random", seed=0, **kw):
    return SOAP(SPECIES, 3.5, 3, 3, compression=compression, seed=seed, **kw)


def test_the_right_seed_is_consistent_to_rounding():
    soap = _soap(seed=4)
    _, report = recover(soap.compute(FRAMES), soap, return_report=True)
    assert report.consistent.all() and report.exact.all()
    assert report.residual[:, 0].max() == 0.0  # 1 × 1 Gram block: nothing to check
    assert 0 < report.residual[:, 1:].max() < 1e-14
    assert report.tolerance == pytest.approx(np.finfo(np.float64).eps ** 0.5)
    assert "0 environments inconsistent" in report.summary()


@pytest.mark.parametrize("wrong", [lambda: _soap(seed=5), lambda: _soap(seed=4, dtype=np.float32)])
def test_features_of_another_seed_are_refused(wrong):
    features = wrong().compute(FRAMES)
    n_env = features.values.shape[0]
    with pytest.raises(ValueError, match=rf"{n_env} of {n_env} environments .* do not fit the "
                       r"maps of 'random' \(seed 0\)"):  # fmt: skip
        recover(features, _soap(seed=0))


def test_with_check_false_they_are_flagged_not_exact():
    features = _soap(seed=5).compute(FRAMES)
    _, report = recover(features, _soap(seed=0), return_report=True, check=False)
    assert not report.consistent.any() and not report.exact.any()
    assert report.residual[:, 1:].min() > 1e-3
    assert f"{len(report.consistent)} environments inconsistent" in report.summary()


def test_random_sym_cannot_be_checked_and_says_so():
    soap = _soap("random_sym", seed=2)
    _, report = recover(_soap("random_sym", seed=3).compute(FRAMES), soap, return_report=True)
    assert np.isnan(report.residual[:, report.compressed]).all()
    assert "not checkable for this compression" in report.summary()


def test_cli_refuses_features_of_another_seed_in_one_line(tmp_path, capsys):
    path = tmp_path / "c.npz"
    write_features(path, _soap(seed=5).compute(FRAMES), _soap(seed=0))  # a mislabelled file
    assert main(["recover", str(path), str(tmp_path / "r.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "do not fit the maps of 'random' (seed 0)" in err
    assert not (tmp_path / "r.npz").exists()


def test_cli_help_states_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["recover", "--help"])
    assert "100 × machine epsilon of the features' dtype" in " ".join(
        capsys.readouterr().out.split()
    )
    with pytest.raises(SystemExit):
        main(["featurize", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "also store ∂x/∂r (dense; with --sparse species-block rows)" in help_text


def test_float32_features_of_the_right_seed_pass():
    soap = _soap(seed=4, dtype=np.float32)
    _, report = recover(soap.compute(FRAMES), soap, return_report=True)
    assert report.consistent.all()
    assert report.tolerance == pytest.approx(np.finfo(np.float32).eps ** 0.5)

"""Seeded splits: partitions, reproducibility, groups kept whole."""

import numpy as np
import pytest

from slimsoap.data.splits import kfold_splits, train_test_split


def test_train_test_partition_and_reproducible():
    train, test = train_test_split(103, test_fraction=0.2, seed=4)
    assert len(test) == 21 and len(train) == 82
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(103))
    again = train_test_split(103, test_fraction=0.2, seed=4)
    assert np.array_equal(again[1], test)
    assert not np.array_equal(train_test_split(103, 0.2, seed=5)[1], test)


def test_groups_stay_whole():
    groups = np.repeat(np.arange(10), [1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
    train, test = train_test_split(len(groups), 0.3, seed=0, groups=groups)
    assert not set(groups[train]) & set(groups[test])
    assert len(set(groups[test])) == 3
    for tr, te in kfold_splits(len(groups), k=5, seed=1, groups=groups):
        assert not set(groups[tr]) & set(groups[te])
        assert len(set(groups[te])) == 2


def test_kfold_test_sets_partition():
    folds = kfold_splits(23, k=5, seed=3)
    tests = [te for _, te in folds]
    assert sorted(len(t) for t in tests) == [4, 4, 5, 5, 5]
    assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(23))
    for tr, te in folds:
        assert np.array_equal(np.sort(np.concatenate([tr, te])), np.arange(23))


def test_bad_arguments():
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(10, test_fraction=1.0)
    with pytest.raises(ValueError, match="k must be"):
        kfold_splits(4, k=5)
    with pytest.raises(ValueError, match="one label per structure"):
        train_test_split(5, groups=[0, 1])

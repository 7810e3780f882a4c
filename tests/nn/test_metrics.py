"""numbagrad.nn.metrics against scikit-learn on hypothesis-drawn label vectors and targets."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numbagrad.autograd as ag
from numbagrad.nn import metrics as m

sk = pytest.importorskip("sklearn.metrics", reason="scikit-learn is needed to check metrics (pip install scikit-learn)")


@st.composite
def label_pairs(draw, max_classes=5):
    n = draw(st.integers(1, 40))
    k = draw(st.integers(1, max_classes))
    t = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    p = draw(st.lists(st.integers(0, k), min_size=n, max_size=n))
    return np.array(t), np.array(p)


@st.composite
def targets(draw):
    n = draw(st.integers(2, 40))
    cols = draw(st.sampled_from([None, 1, 3]))
    shape = (n,) if cols is None else (n, cols)
    vals = st.floats(-1e3, 1e3, allow_nan=False, width=64)
    t = np.array(draw(st.lists(vals, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))).reshape(shape)
    p = np.array(draw(st.lists(vals, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))).reshape(shape)
    return t, p


def _sk(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _tokens(text):
    out = []
    for w in text.split():
        try:
            out.append(round(float(w), 6))
        except ValueError:
            out.append(w)
    return out


@given(label_pairs())
def test_accuracy_and_confusion_matrix(pair):
    t, p = pair
    assert m.accuracy(t, p) == pytest.approx(sk.accuracy_score(t, p))
    assert m.accuracy(t, p, normalize=False) == sk.accuracy_score(t, p, normalize=False)
    np.testing.assert_array_equal(m.confusion_matrix(t, p), _sk(sk.confusion_matrix, t, p))
    for norm in ("true", "pred", "all"):
        np.testing.assert_allclose(m.confusion_matrix(t, p, normalize=norm), _sk(sk.confusion_matrix, t, p, normalize=norm))
    labels = [3, 0, 1]
    if not np.isin(labels, t).any():
        with pytest.raises(ValueError, match="none of labels"):
            m.confusion_matrix(t, p, labels=labels)
        return
    np.testing.assert_array_equal(m.confusion_matrix(t, p, labels=labels), _sk(sk.confusion_matrix, t, p, labels=labels))


@given(label_pairs(), st.sampled_from([None, "macro", "micro", "weighted"]))
def test_multiclass_precision_recall_f1(pair, average):
    t, p = pair
    for ours, theirs in ((m.precision, sk.precision_score), (m.recall, sk.recall_score), (m.f1_score, sk.f1_score)):
        np.testing.assert_allclose(ours(t, p, average=average), _sk(theirs, t, p, average=average, zero_division=0))
    got = m.precision_recall_fscore_support(t, p, average=average, labels=[0, 2, 5])
    want = _sk(sk.precision_recall_fscore_support, t, p, average=average, labels=[0, 2, 5], zero_division=0)
    for a, b in zip(got[:3], want[:3]):
        np.testing.assert_allclose(a, b)


@given(label_pairs(max_classes=2), st.sampled_from([0, 1]), st.sampled_from([0.0, 1.0]))
def test_binary_with_pos_label_and_zero_division(pair, pos_label, zd):
    t, p = pair
    p = np.minimum(p, 1)
    for ours, theirs in ((m.precision, sk.precision_score), (m.recall, sk.recall_score), (m.f1_score, sk.f1_score)):
        assert ours(t, p, pos_label=pos_label, zero_division=zd) == pytest.approx(
            _sk(theirs, t, p, pos_label=pos_label, zero_division=zd))


@given(label_pairs(), st.integers(1, 4))
def test_classification_report(pair, digits):
    t, p = pair
    ours = m.classification_report(t, p, digits=digits, output_dict=True)
    theirs = _sk(sk.classification_report, t, p, digits=digits, output_dict=True, zero_division=0)
    assert list(ours) == list(theirs)
    for key, val in ours.items():
        if isinstance(val, dict):
            for k in val:
                assert val[k] == pytest.approx(theirs[key][k]), (key, k)
        else:
            assert val == pytest.approx(theirs[key])
    # the printed table: same layout and numbers (scikit-learn sometimes prints supports as floats)
    text = m.classification_report(t, p, digits=digits)
    assert _tokens(text) == _tokens(_sk(sk.classification_report, t, p, digits=digits, zero_division=0))
    assert len(text.splitlines()[0]) == len(_sk(sk.classification_report, t, p, digits=digits).splitlines()[0])


@given(targets())
def test_regression_metrics(pair):
    t, p = pair
    for ours, theirs in ((m.mean_absolute_error, sk.mean_absolute_error), (m.mean_squared_error, sk.mean_squared_error),
                         (m.root_mean_squared_error, sk.root_mean_squared_error), (m.r2_score, sk.r2_score)):
        assert ours(t, p) == pytest.approx(theirs(t, p), rel=1e-9, abs=1e-9)


def test_r2_constant_target():
    assert m.r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == 1.0
    assert m.r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0


def test_inputs_lists_and_column_vectors():
    assert m.accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    assert m.accuracy(np.array([[0], [1]]), np.array([0, 0])) == 0.5
    scores = np.array([[2.0, 1.0, 0.0], [0.0, 0.1, 3.0], [0.0, 5.0, 1.0]])
    assert m.accuracy([0, 2, 2], scores) == pytest.approx(2 / 3)
    assert m.mean_squared_error(np.array([[1.0], [2.0]]), np.array([1.0, 4.0])) == 2.0


def test_errors():
    with pytest.raises(ValueError, match="3 samples but y_pred has 2"):
        m.accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="multiclass"):
        m.f1_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="pos_label"):
        m.precision([3, 4], [3, 4])
    with pytest.raises(ValueError, match="average"):
        m.recall([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="same shape"):
        m.mean_absolute_error([1.0, 2.0], [1.0, 2.0, 3.0])


def test_string_labels():
    t, p = ["cat", "dog", "dog", "bird"], ["cat", "cat", "dog", "bird"]
    np.testing.assert_array_equal(m.confusion_matrix(t, p), sk.confusion_matrix(t, p))
    assert m.f1_score(t, p, average="macro") == pytest.approx(sk.f1_score(t, p, average="macro"))
    assert "bird" in m.classification_report(t, p)


@pytest.mark.skipif(not hasattr(ag, "from_numpy"), reason="numbagrad.autograd Tensor API not available yet")
def test_tensor_inputs():
    t = ag.from_numpy(np.array([0, 1, 2, 2, 1], dtype=np.int64))
    logits = ag.from_numpy(np.eye(3, dtype=np.float32)[[0, 1, 1, 2, 1]])
    assert m.accuracy(t, logits) == pytest.approx(0.8)
    assert m.f1_score(t, ag.from_numpy(np.array([0, 1, 1, 2, 1])), average="macro") == pytest.approx(
        sk.f1_score([0, 1, 2, 2, 1], [0, 1, 1, 2, 1], average="macro"))
    y = ag.from_numpy(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    assert m.mean_absolute_error(y, ag.from_numpy(np.array([1.0, 2.0, 5.0], dtype=np.float32))) == pytest.approx(2 / 3)

"""Evaluation metrics on label vectors or regression targets, with scikit-learn's names and results.

Inputs may be numbagrad Tensors (detached and converted), numpy arrays or
lists. Classification metrics take label vectors ``y_true, y_pred`` (ints or
strings); :func:`accuracy` also accepts a 2-D ``y_pred`` of scores (logits or
probabilities) and takes its argmax. Undefined ratios (a class never predicted
or never present) give ``zero_division`` (default 0.0) and no warning, as
scikit-learn's default gives 0.
"""
import numpy as np

__all__ = [
    "accuracy", "accuracy_score", "precision", "precision_score", "recall", "recall_score",
    "f1_score", "precision_recall_fscore_support", "confusion_matrix", "classification_report",
    "mean_absolute_error", "mean_squared_error", "root_mean_squared_error", "r2_score",
]


def _np(x):
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return x.detach().numpy()
    return np.asarray(x)


def _labels_pair(y_true, y_pred, name):
    t, p = _np(y_true), _np(y_pred)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(f"{name}: expected 1-D label vectors, got y_true {t.shape} and y_pred {p.shape}")
    if len(t) != len(p):
        raise ValueError(f"{name}: y_true has {len(t)} samples but y_pred has {len(p)}")
    return t, p


def _check_zero_division(zero_division):
    if isinstance(zero_division, str):
        if zero_division != "warn":
            raise ValueError(f"zero_division must be 'warn', 0, 1 or nan, got {zero_division!r}")
        return 0.0
    if not (zero_division in (0, 1) or np.isnan(zero_division)):
        raise ValueError(f"zero_division must be 'warn', 0, 1 or nan, got {zero_division!r}")
    return float(zero_division)


def accuracy(y_true, y_pred, normalize=True):
    """Fraction (or, with ``normalize=False``, number) of samples whose predicted label equals the true one.

    A 2-D ``y_pred`` of shape (n, n_classes) is read as scores and reduced by argmax.
    """
    p = _np(y_pred)
    if p.ndim == 2 and p.shape[1] > 1:
        p = p.argmax(axis=1)
    t, p = _labels_pair(y_true, p, "accuracy")
    correct = int(np.sum(t == p))
    if not normalize:
        return correct
    return correct / len(t) if len(t) else 0.0


accuracy_score = accuracy


def _ratio(num, den, zero_division):
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.full(num.shape, zero_division, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _nanaverage(values, weights=None):
    mask = ~np.isnan(values)
    if not mask.any():
        return float("nan")
    if weights is not None and np.sum(np.asarray(weights)[mask]) > 0:
        return float(np.average(values[mask], weights=np.asarray(weights)[mask]))
    return float(np.mean(values[mask]))


def precision_recall_fscore_support(y_true, y_pred, *, labels=None, pos_label=1, average=None, zero_division=0.0):
    """Precision, recall, F1 and support (number of true samples) per label, or averaged.

    ``average``: ``None`` (arrays, one value per label in ``labels`` order,
    sorted union of seen labels by default), ``'binary'`` (only ``pos_label``;
    an error when more than two labels occur), ``'micro'`` (from global
    counts), ``'macro'`` (plain mean over labels), ``'weighted'`` (mean
    weighted by support). Averaged results give support ``None``, as scikit-learn.
    """
    t, p = _labels_pair(y_true, y_pred, "precision_recall_fscore_support")
    zd = _check_zero_division(zero_division)
    if average not in (None, "binary", "micro", "macro", "weighted"):
        raise ValueError(f"average must be one of None, 'binary', 'micro', 'macro', 'weighted'; got {average!r}")
    present = np.union1d(t, p)
    if average == "binary":
        if len(present) > 2:
            raise ValueError(f"Target is multiclass ({len(present)} labels) but average='binary'; "
                             "choose average='macro', 'micro', 'weighted' or None")
        if len(present) == 2 and pos_label not in present:
            raise ValueError(f"pos_label={pos_label!r} is not a valid label: it should be one of {present.tolist()}")
        labels = [pos_label]
    elif labels is None:
        labels = present
    labels = np.asarray(labels)
    tp = np.array([np.sum((t == c) & (p == c)) for c in labels], dtype=np.int64)
    pred_sum = np.array([np.sum(p == c) for c in labels], dtype=np.int64)
    true_sum = np.array([np.sum(t == c) for c in labels], dtype=np.int64)
    if average == "micro":
        tp, pred_sum, true_sum = tp.sum(keepdims=True), pred_sum.sum(keepdims=True), true_sum.sum(keepdims=True)
    prec = _ratio(tp, pred_sum, zd)
    rec = _ratio(tp, true_sum, zd)
    f1 = _ratio(2 * tp, pred_sum + true_sum, zd)   # = 2PR/(P+R) where both are defined
    if average is None:
        return prec, rec, f1, true_sum
    weights = true_sum if average == "weighted" else None
    return _nanaverage(prec, weights), _nanaverage(rec, weights), _nanaverage(f1, weights), None


def precision(y_true, y_pred, *, labels=None, pos_label=1, average="binary", zero_division=0.0):
    """Precision tp / (tp + fp): binary for ``pos_label`` by default; see :func:`precision_recall_fscore_support` for ``average``."""
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                           average=average, zero_division=zero_division)[0]


def recall(y_true, y_pred, *, labels=None, pos_label=1, average="binary", zero_division=0.0):
    """Recall tp / (tp + fn): binary for ``pos_label`` by default; see :func:`precision_recall_fscore_support` for ``average``."""
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                           average=average, zero_division=zero_division)[1]


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", zero_division=0.0):
    """F1 = 2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall; ``average`` as in :func:`precision`."""
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                           average=average, zero_division=zero_division)[2]


precision_score = precision
recall_score = recall


def confusion_matrix(y_true, y_pred, *, labels=None, normalize=None):
    """Matrix C (int64) where ``C[i, j]`` counts samples of true label ``labels[i]`` predicted as ``labels[j]``.

    ``labels`` defaults to the sorted union of both vectors; samples with other
    labels are ignored. ``normalize`` = ``'true'`` (rows sum to 1), ``'pred'``
    (columns), ``'all'`` gives float64, with 0 where a row/column is empty.
    """
    t, p = _labels_pair(y_true, y_pred, "confusion_matrix")
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"confusion_matrix: normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    labels = np.union1d(t, p) if labels is None else np.asarray(labels)
    if labels.size == 0:
        raise ValueError("confusion_matrix: labels must not be empty")
    if len(t) and not np.isin(labels, t).any():
        raise ValueError(f"confusion_matrix: none of labels {labels.tolist()} occurs in y_true")
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]

    def code(v):
        pos = np.clip(np.searchsorted(sorted_labels, v), 0, len(labels) - 1)
        ok = sorted_labels[pos] == v
        return order[pos], ok

    ti, tok = code(t)
    pi, pok = code(p)
    keep = tok & pok
    k = len(labels)
    cm = np.bincount(ti[keep] * k + pi[keep], minlength=k * k).reshape(k, k).astype(np.int64)
    if normalize is None:
        return cm
    den = {"true": cm.sum(axis=1, keepdims=True), "pred": cm.sum(axis=0, keepdims=True), "all": cm.sum()}[normalize]
    return _ratio(cm, np.broadcast_to(den, cm.shape), 0.0)


def classification_report(y_true, y_pred, *, labels=None, target_names=None, digits=2,
                          output_dict=False, zero_division=0.0):
    """Per-class precision, recall, F1 and support, then accuracy and macro/weighted averages.

    Returns a printable table laid out like scikit-learn's, or with
    ``output_dict=True`` a dict ``{class_name: {'precision', 'recall',
    'f1-score', 'support'}, 'accuracy': float, 'macro avg': {...},
    'weighted avg': {...}}`` (a ``'micro avg'`` replaces ``'accuracy'`` when
    ``labels`` leaves out some classes present in the data).
    """
    t, p = _labels_pair(y_true, y_pred, "classification_report")
    present = np.union1d(t, p)
    labels = present if labels is None else np.asarray(labels)
    if target_names is None:
        target_names = [str(c) for c in labels]
    elif len(target_names) != len(labels):
        raise ValueError(f"classification_report: {len(target_names)} target_names for {len(labels)} labels")
    per_class = precision_recall_fscore_support(t, p, labels=labels, average=None, zero_division=zero_division)
    keys = ("precision", "recall", "f1-score", "support")
    report = {}
    for i, name in enumerate(target_names):
        report[str(name)] = {k: (int(v[i]) if k == "support" else float(v[i])) for k, v in zip(keys, per_class)}
    support = int(per_class[3].sum())
    micro_is_accuracy = set(np.asarray(labels).tolist()) >= set(present.tolist())
    avgs = (["accuracy"] if micro_is_accuracy else ["micro"]) + ["macro", "weighted"]
    for avg in avgs:
        if avg == "accuracy":
            report["accuracy"] = accuracy(t, p)
            continue
        vals = precision_recall_fscore_support(t, p, labels=labels, average=avg, zero_division=zero_division)[:3]
        report[f"{avg} avg"] = dict(zip(keys, [float(v) for v in vals] + [support]))
    if output_dict:
        return report
    width = max([len(str(n)) for n in target_names] + [len("weighted avg"), digits])
    num = f" {{:>9.{digits}f}}"
    row = f"{{:>{width}}} " + num * 3 + " {:>9}"
    lines = [f"{'':>{width}} " + "".join(f" {h:>9}" for h in keys), ""]
    for name in target_names:
        r = report[str(name)]
        lines.append(row.format(str(name), r["precision"], r["recall"], r["f1-score"], r["support"]))
    lines.append("")
    for key in [k for k in report if k == "accuracy" or k.endswith(" avg")]:
        if key == "accuracy":
            lines.append(f"{'accuracy':>{width}} " + " " * 20 + num.format(report["accuracy"]) + f" {support:>9}")
        else:
            r = report[key]
            lines.append(row.format(key, r["precision"], r["recall"], r["f1-score"], r["support"]))
    return "\n".join(lines) + "\n"


def _targets(y_true, y_pred, name):
    t, p = _np(y_true).astype(np.float64), _np(y_pred).astype(np.float64)
    if t.ndim == 2 and t.shape[1] == 1 and p.ndim == 1:
        t = t[:, 0]
    if p.ndim == 2 and p.shape[1] == 1 and t.ndim == 1:
        p = p[:, 0]
    if t.shape != p.shape or t.ndim not in (1, 2):
        raise ValueError(f"{name}: y_true {t.shape} and y_pred {p.shape} must have the same shape, (n,) or (n, outputs)")
    if len(t) == 0:
        raise ValueError(f"{name}: got empty inputs")
    return t, p


def mean_absolute_error(y_true, y_pred):
    """Mean of |y_true - y_pred| (for 2-D targets: per output, then averaged over outputs)."""
    t, p = _targets(y_true, y_pred, "mean_absolute_error")
    return float(np.mean(np.mean(np.abs(t - p), axis=0)))


def mean_squared_error(y_true, y_pred):
    """Mean of (y_true - y_pred)^2 (for 2-D targets: per output, then averaged over outputs)."""
    t, p = _targets(y_true, y_pred, "mean_squared_error")
    return float(np.mean(np.mean((t - p) ** 2, axis=0)))


def root_mean_squared_error(y_true, y_pred):
    """Square root of the mean squared error (for 2-D targets: per output, then averaged over outputs)."""
    t, p = _targets(y_true, y_pred, "root_mean_squared_error")
    return float(np.mean(np.sqrt(np.mean((t - p) ** 2, axis=0))))


def r2_score(y_true, y_pred):
    """Coefficient of determination 1 - SS_res / SS_tot (averaged over outputs for 2-D targets).

    A constant ``y_true`` gives 1.0 when predicted exactly, else 0.0 (scikit-learn's ``force_finite``).
    """
    t, p = _targets(y_true, y_pred, "r2_score")
    if len(t) < 2:
        raise ValueError("r2_score: needs at least two samples")
    ss_res = np.sum((t - p) ** 2, axis=0)
    ss_tot = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    r2 = np.where(ss_tot != 0, 1 - ss_res / np.where(ss_tot != 0, ss_tot, 1), np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(r2))


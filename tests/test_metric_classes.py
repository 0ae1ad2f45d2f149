"""Streaming metric classes (tf-keras 2.x): standalone update_state/result/reset_state on arrays,
and inside compiled models, where their state lives in the train and test functions. Every
expected value is computed here with NumPy from the metric's definition."""

import numpy as np
import pytest

from symkeras import callbacks, layers, metrics, optimizers
from symkeras.models import Model, Sequential

EPS = 1e-7


# ----------------------------------------------------------------------------- NumPy references

def np_confusion(y_true, y_pred, thresholds, w=None):
    """(tp, fp, tn, fn) per threshold: positive means y_pred > threshold."""
    t = np.asarray(y_true, np.float64).reshape(-1) != 0
    p = np.asarray(y_pred, np.float64).reshape(-1)
    w = np.ones_like(p) if w is None else np.broadcast_to(np.asarray(w, np.float64).reshape(len(y_pred), -1),
                                                          np.shape(y_pred)).reshape(-1)
    out = []
    for th in thresholds:
        pos = p > th
        out.append([np.sum(w * (t & pos)), np.sum(w * (~t & pos)), np.sum(w * (~t & ~pos)), np.sum(w * (t & ~pos))])
    return tuple(np.array(v) for v in zip(*out))


def ratio(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def auc_thresholds(n):
    return [-EPS] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + EPS]


def np_auc(y_true, y_pred, n=200, curve="ROC", summation="interpolation", w=None, thresholds=None):
    thresholds = auc_thresholds(n) if thresholds is None else [-EPS] + sorted(thresholds) + [1 + EPS]
    n = len(thresholds)
    tp, fp, tn, fn = np_confusion(y_true, y_pred, thresholds, w)
    if curve == "PR" and summation == "interpolation":
        # Davis & Goadrich: TP and P = TP + FP vary linearly between thresholds; integrate precision dR
        total = 0.0
        for i in range(n - 1):
            p_a, p_b = tp[i] + fp[i], tp[i + 1] + fp[i + 1]
            dtp, dp = tp[i] - tp[i + 1], p_a - p_b
            slope = dtp / dp if dp > 0 else 0.0
            intercept = tp[i + 1] - slope * p_b
            log_ratio = np.log(p_a / p_b) if p_a > 0 and p_b > 0 else 0.0
            positives = tp[i + 1] + fn[i + 1]
            total += slope * (dtp + intercept * log_ratio) / positives if positives > 0 else 0.0
        return total
    recall = ratio(tp, tp + fn)
    x, y = (ratio(fp, fp + tn), recall) if curve == "ROC" else (recall, ratio(tp, tp + fp))
    pick = {"interpolation": lambda a, b: (a + b) / 2, "minoring": np.minimum, "majoring": np.maximum}[summation]
    return float(np.sum((x[:-1] - x[1:]) * pick(y[:-1], y[1:])))


def np_precision(y_true, y_pred, threshold=0.5, w=None):
    tp, fp, _, _ = np_confusion(y_true, y_pred, [threshold], w)
    return float(ratio(tp, tp + fp)[0])


def np_recall(y_true, y_pred, threshold=0.5, w=None):
    tp, _, _, fn = np_confusion(y_true, y_pred, [threshold], w)
    return float(ratio(tp, tp + fn)[0])


def np_top_k_mask(y_pred, k):
    """The k largest of each row kept (ties: lower index first), the others at -1e10."""
    order = np.argsort(-y_pred, axis=-1, kind="stable")[:, :k]
    mask = np.zeros_like(y_pred, dtype=bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return np.where(mask, y_pred, -1e10)


def np_mean_iou(y_true, y_pred, num_classes, w=None):
    cm = np.zeros((num_classes, num_classes))
    w = np.ones(len(y_true)) if w is None else np.asarray(w, np.float64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), w)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    valid = union != 0
    return float(np.sum(ratio(inter, union)) / max(valid.sum(), 1))


def close(a, b, tol=1e-5):
    return np.allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- standalone

def test_documented_values():
    m = metrics.Precision()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert close(m.result(), 2 / 3)
    m.reset_state()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0])
    assert close(m.result(), 1.0)
    m = metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert close(m.result(), 0.75)
    m.reset_states()
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert close(m.result(), 1.0)
    m = metrics.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1])
    assert close(m.result(), np_mean_iou([0, 0, 1, 1], [0, 1, 0, 1], 2, [0.3, 0.3, 0.3, 0.1]))


def test_streaming_over_batches_with_sample_weights():
    rng = np.random.default_rng(0)
    batches = [(rng.integers(0, 2, (n, 1)).astype("float32"), rng.random((n, 1)).astype("float32"),
                rng.random(n).astype("float32")) for n in (7, 16, 5)]
    objs = {"precision": metrics.Precision(thresholds=0.4), "recall": metrics.Recall(),
            "roc": metrics.AUC(num_thresholds=50), "pr": metrics.AUC(curve="PR", num_thresholds=30),
            "pr_major": metrics.AUC(curve="PR", summation_method="majoring"),
            "roc_minor": metrics.AUC(summation_method="minoring", num_thresholds=20),
            "given": metrics.AUC(thresholds=[0.7, 0.1, 0.45], curve="PR", summation_method="majoring"),
            "precisions": metrics.Precision(thresholds=[0.1, 0.5, 0.8]), "sum": metrics.Sum(),
            "tp": metrics.TruePositives(thresholds=[0.2, 0.5, 0.9]), "fp": metrics.FalsePositives(),
            "tn": metrics.TrueNegatives(thresholds=[0.0, 0.5, 1.0]), "fn": metrics.FalseNegatives(0.3),
            "bacc": metrics.BinaryAccuracy(threshold=0.6), "mse": metrics.MeanSquaredError()}
    for k, (t, p, w) in enumerate(batches):
        for name, m in objs.items():
            if name == "sum":
                m.update_state(p, sample_weight=w)
            else:
                m.update_state(t, p, sample_weight=w)
        yt, yp, ww = (np.concatenate([b[i] for b in batches[:k + 1]]) for i in range(3))
        tp, fp, tn, fn = np_confusion(yt, yp, [0.2, 0.5, 0.9], ww)
        expect = {
            "precision": np_precision(yt, yp, 0.4, ww), "recall": np_recall(yt, yp, 0.5, ww),
            "roc": np_auc(yt, yp, 50, w=ww), "pr": np_auc(yt, yp, 30, "PR", w=ww),
            "pr_major": np_auc(yt, yp, 200, "PR", "majoring", w=ww),
            "roc_minor": np_auc(yt, yp, 20, "ROC", "minoring", w=ww),
            "given": np_auc(yt, yp, curve="PR", summation="majoring", w=ww, thresholds=[0.7, 0.1, 0.45]),
            "precisions": [np_precision(yt, yp, th, ww) for th in (0.1, 0.5, 0.8)],
            "sum": np.sum(ww * yp[:, 0]),
            "tp": tp, "fp": np_confusion(yt, yp, [0.5], ww)[1][0],
            "tn": np_confusion(yt, yp, [0.0, 0.5, 1.0], ww)[2], "fn": np_confusion(yt, yp, [0.3], ww)[3][0],
            "bacc": np.sum(ww * ((yp[:, 0] > 0.6) == (yt[:, 0] == 1))) / np.sum(ww),
            "mse": np.sum(ww * (yt - yp)[:, 0] ** 2) / np.sum(ww)}
        for name, m in objs.items():
            assert close(m.result(), expect[name]), (name, k, m.result(), expect[name])
    for m in objs.values():
        m.reset_state()
        assert close(m.result(), np.zeros_like(m.result()))


def test_top_k_and_class_id():
    rng = np.random.default_rng(1)
    y_true = (rng.random((12, 5)) > 0.6).astype("float32")
    y_pred = rng.random((12, 5)).astype("float32")
    y_pred[0, :3] = 0.7                                        # a tie at the top
    kept = np_top_k_mask(y_pred, 2)
    m = metrics.Precision(top_k=2)
    m.update_state(y_true, y_pred)
    assert close(m.result(), np_precision(y_true, kept, -1e10))
    r = metrics.Recall(top_k=2, thresholds=0.5)
    r.update_state(y_true, y_pred)
    assert close(r.result(), np_recall(y_true, kept, 0.5))
    c = metrics.Precision(class_id=3, thresholds=0.3)
    c.update_state(y_true, y_pred)
    assert close(c.result(), np_precision(y_true[:, 3], y_pred[:, 3], 0.3))
    both = metrics.Recall(class_id=1, top_k=1)
    both.update_state(y_true, y_pred)
    assert close(both.result(), np_recall(y_true[:, 1], np_top_k_mask(y_pred, 1)[:, 1], -1e10))
    with pytest.raises(ValueError, match="class_id"):
        metrics.Precision(class_id=7).update_state(y_true, y_pred)


def test_accuracy_classes_mean_and_iou():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, 20)
    probs = rng.random((20, 4)).astype("float32")
    w = rng.random(20).astype("float32")
    onehot = np.eye(4, dtype="float32")[labels]
    hit = probs.argmax(-1) == labels
    beaten = (probs > probs[np.arange(20), labels][:, None]).sum(-1)
    cases = [(metrics.CategoricalAccuracy(), onehot, hit), (metrics.SparseCategoricalAccuracy(), labels, hit),
             (metrics.TopKCategoricalAccuracy(k=2), onehot, beaten < 2),
             (metrics.SparseTopKCategoricalAccuracy(k=3), labels[:, None], beaten < 3)]
    for m, target, expected in cases:
        m.update_state(target[:8], probs[:8], sample_weight=w[:8])
        m.update_state(target[8:], probs[8:], sample_weight=w[8:])
        assert close(m.result(), np.sum(w * expected) / np.sum(w)), m.name
    acc = metrics.CategoricalAccuracy()                      # calling it on arrays: update then result
    assert close(acc(onehot[:5], probs[:5]), np.mean(hit[:5]))
    assert close(acc(onehot[5:], probs[5:], sample_weight=w[5:]), (np.sum(hit[:5]) + np.sum(w[5:] * hit[5:]))
                 / (5 + np.sum(w[5:])))
    mean = metrics.Mean()
    mean.update_state([1.0, 3.0, 5.0])
    mean.update_state(np.array([[2.0], [4.0]]), sample_weight=[3.0, 1.0])
    assert close(mean.result(), (1 + 3 + 5 + 6 + 4) / 7)
    assert close(mean([10.0]), (19 + 10) / 8)                # calling it: update then result
    iou = metrics.MeanIoU(num_classes=4)
    pred = probs.argmax(-1)
    iou.update_state(labels[:10], pred[:10], sample_weight=w[:10])
    iou.update_state(labels[10:], pred[10:], sample_weight=w[10:])
    assert close(iou.result(), np_mean_iou(labels, pred, 4, w))
    dense = metrics.MeanIoU(num_classes=4, sparse_y_pred=False, ignore_class=0)
    dense.update_state(labels, probs)
    keep = labels != 0
    assert close(dense.result(), np_mean_iou(labels[keep], pred[keep], 4))


def test_multi_label_auc_and_logits():
    rng = np.random.default_rng(3)
    y_true = (rng.random((30, 3)) > 0.5).astype("float32")
    logits = rng.normal(size=(30, 3)).astype("float32")
    probs = 1 / (1 + np.exp(-logits))
    m = metrics.AUC(multi_label=True, num_thresholds=40, from_logits=True)
    m.update_state(y_true, logits)
    assert [v.shape for v in m.variables] == [(40, 3)] * 4
    assert close(m.result(), np.mean([np_auc(y_true[:, j], probs[:, j], 40) for j in range(3)]), 1e-4)
    flat = metrics.AUC(num_thresholds=40)
    flat.update_state(y_true, probs)
    assert close(flat.result(), np_auc(y_true, probs, 40), 1e-4)
    weighted = metrics.AUC(multi_label=True, label_weights=[1.0, 0.0, 3.0])
    weighted.update_state(y_true, probs)
    per = [np_auc(y_true[:, j], probs[:, j]) for j in range(3)]
    assert close(weighted.result(), (per[0] + 3 * per[2]) / 4, 1e-4)


def test_configs_and_argument_errors():
    for m in (metrics.Precision(thresholds=[0.2, 0.7], name="p"), metrics.Recall(top_k=3, class_id=1),
              metrics.AUC(num_thresholds=17, curve="PR", summation_method="minoring", name="pr_auc"),
              metrics.AUC(thresholds=[0.3, 0.6]), metrics.TruePositives(0.25), metrics.MeanIoU(3, ignore_class=0),
              metrics.Mean(name="avg")):
        again = type(m).from_config(m.get_config())
        assert again.get_config() == m.get_config()
        assert metrics.deserialize(metrics.serialize(m)).get_config() == m.get_config()
    assert metrics.Precision().get_config() == {"name": "precision", "dtype": "float32", "thresholds": None,
                                                 "top_k": None, "class_id": None}
    assert metrics.AUC(thresholds=[0.3, 0.6]).thresholds == [-EPS, 0.3, 0.6, 1 + EPS]
    assert [c().name for c in (metrics.TruePositives, metrics.FalseNegatives, metrics.AUC)] == \
        ["true_positives", "false_negatives", "auc"]
    assert metrics.get("AUC").name == "auc"
    with pytest.raises(ValueError, match="thresholds"):
        metrics.Precision(thresholds=1.5)
    with pytest.raises(TypeError, match="thresholds"):
        metrics.Recall(thresholds="high")
    with pytest.raises(ValueError, match="top_k"):
        metrics.Precision(top_k=0)
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="summation_method"):
        metrics.AUC(summation_method="trapezoid")
    with pytest.raises(ValueError, match="num_labels"):
        metrics.AUC(num_labels=3)
    with pytest.raises(TypeError, match="num_classes"):
        metrics.MeanIoU(num_classes=2.5)
    with pytest.raises(ValueError, match="sample_weight"):
        metrics.Precision().update_state([0, 1, 1], [0.2, 0.8, 0.9], sample_weight=[1.0, 2.0])


# ----------------------------------------------------------------------------- inside models

class _Recorder(callbacks.Callback):
    """Predictions of each training batch before its step, the logs after it, and the validation
    predictions at the end of each epoch."""

    def __init__(self, x, batch_size, x_val=None):
        super().__init__()
        self.x, self.batch_size, self.x_val = x, batch_size, x_val
        self.preds, self.batch_logs, self.val_preds = [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.preds.append([])
        self.batch_logs.append([])

    def on_train_batch_begin(self, batch, logs=None):
        chunk = self.x[batch * self.batch_size:(batch + 1) * self.batch_size]
        self.preds[-1].append(self.model.predict(chunk, verbose=0))

    def on_train_batch_end(self, batch, logs=None):
        self.batch_logs[-1].append(dict(logs))

    def on_epoch_end(self, epoch, logs=None):
        if self.x_val is not None:
            self.val_preds.append(self.model.predict(self.x_val, verbose=0))


def _data(n=60, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype("float32")
    y = ((x[:, :2].sum(1) + 0.7 * rng.normal(size=n)) > 0.6).astype("float32")[:, None]
    return x, y


def test_fit_running_values_resets_and_validation(backend):
    x, y = _data()
    x_val, y_val = _data(24, seed=5)
    model = Sequential([layers.Dense(4, activation="tanh", input_shape=(5,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizers.SGD(0.5), "binary_crossentropy",
                  metrics=[metrics.Precision(), "accuracy", metrics.AUC(name="auc", num_thresholds=60),
                           metrics.TruePositives(), metrics.Recall(thresholds=0.3)],
                  backend=backend)
    assert model.metrics_names == ["loss", "precision", "accuracy", "auc", "true_positives", "recall"]
    rec = _Recorder(x, 16, x_val)
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[rec],
                        validation_data=(x_val, y_val))
    assert list(history.history) == ["loss", "precision", "accuracy", "auc", "true_positives", "recall",
                                     "val_loss", "val_precision", "val_accuracy", "val_auc",
                                     "val_true_positives", "val_recall"]

    def expected(t, p):
        return {"precision": np_precision(t, p), "auc": np_auc(t, p, 60),
                "true_positives": np_confusion(t, p, [0.5])[0][0], "recall": np_recall(t, p, 0.3)}

    for epoch in range(2):
        for b, logs in enumerate(rec.batch_logs[epoch]):        # running values within the epoch only
            p = np.concatenate(rec.preds[epoch][:b + 1])
            for name, value in expected(y[:len(p)], p).items():
                assert close(logs[name], value, 1e-4), (epoch, b, name, logs[name], value)
        for name, value in expected(y, np.concatenate(rec.preds[epoch])).items():
            assert close(history.history[name][epoch], value, 1e-4), (epoch, name)
        for name, value in expected(y_val, rec.val_preds[epoch]).items():
            assert close(history.history["val_" + name][epoch], value, 1e-4), (epoch, "val_" + name)
    p = model.predict(x, verbose=0)
    for _ in range(2):                                             # evaluate starts from zero each time
        logs = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
        for name, value in expected(y, p).items():
            assert close(logs[name], value, 1e-4), name


def test_weighted_metrics_class_weight_and_on_batch():
    x, y = _data(40, seed=6)
    w = np.linspace(0.1, 2.0, 40).astype("float32")
    model = Sequential([layers.Dense(1, activation="sigmoid", input_shape=(5,))])
    model.compile(optimizers.SGD(0.0), "binary_crossentropy", metrics=[metrics.Precision(), metrics.Precision()],
                  weighted_metrics=[metrics.Precision(name="wp"), metrics.AUC(num_thresholds=25)], backend="numpy")
    assert model.metrics_names == ["loss", "precision", "precision_1", "wp", "auc"]
    p = model.predict(x, verbose=0)                               # lr 0: the predictions never change
    logs = model.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0, return_dict=True)
    assert close(logs["precision"], np_precision(y, p), 1e-4) and close(logs["precision_1"], logs["precision"])
    assert close(logs["wp"], np_precision(y, p, w=w), 1e-4)
    assert close(logs["auc"], np_auc(y, p, 25, w=w), 1e-4)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, class_weight={0: 1.0, 1: 3.0})
    cw = np.where(y[:, 0] == 1, 3.0, 1.0)
    assert close(history.history["wp"], [np_precision(y, p, w=cw)] * 2, 1e-4)
    assert close(history.history["precision"], [np_precision(y, p)] * 2, 1e-4)
    # *_on_batch: reset_metrics=False accumulates, the default starts again
    tp = metrics.TruePositives()
    model.compile(optimizers.SGD(0.0), "binary_crossentropy", metrics=[tp], backend="numpy")
    first = model.train_on_batch(x[:20], y[:20], reset_metrics=False, return_dict=True)
    second = model.train_on_batch(x[20:], y[20:], reset_metrics=False, return_dict=True)
    assert close(first["true_positives"], np_confusion(y[:20], p[:20], [0.5])[0][0])
    assert close(second["true_positives"], np_confusion(y, p, [0.5])[0][0])
    tp_last = np_confusion(y[20:], p[20:], [0.5])[0][0]
    # as tf-keras: the test step adds to the state left by reset_metrics=False, then it is reset
    assert close(model.test_on_batch(x[20:], y[20:], return_dict=True)["true_positives"],
                 second["true_positives"] + tp_last)
    for _ in range(2):
        assert close(model.test_on_batch(x[20:], y[20:], return_dict=True)["true_positives"], tp_last)
    model.reset_metrics()
    assert close(tp.result(), 0.0)


def test_multi_output_copies_and_string_names():
    inp = layers.Input((5,))
    a = layers.Dense(1, activation="sigmoid", name="a")(inp)
    b = layers.Dense(1, activation="sigmoid", name="b")(inp)
    model = Model(inp, [a, b])
    shared = metrics.Recall()
    model.compile(optimizers.SGD(0.0), "binary_crossentropy", metrics=[shared, "AUC"], backend="numpy")
    assert model.metrics_names == ["loss", "a_loss", "b_loss", "a_recall", "a_auc", "b_recall", "b_auc"]
    x, y = _data(30, seed=7)
    y2 = 1.0 - y
    pa, pb = model.predict(x, verbose=0)
    logs = model.evaluate(x, [y, y2], batch_size=10, verbose=0, return_dict=True)
    assert close(logs["a_recall"], np_recall(y, pa), 1e-4) and close(logs["b_recall"], np_recall(y2, pb), 1e-4)
    assert close(logs["b_auc"], np_auc(y2, pb), 1e-4)
    with pytest.raises(TypeError, match="Mean"):
        model.compile("sgd", "binary_crossentropy", metrics=[metrics.Mean()])


def test_metric_functions_keep_their_sums_and_objects_their_state():
    x, y = _data(16)
    model = Sequential([layers.Dense(1, activation="sigmoid", input_shape=(5,))])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy", "mse"], backend="numpy")
    model.fit(x, y, epochs=1, verbose=0)
    fn = model.make_test_function()
    assert [s.name for s in fn.storages] == [w.op.storage.name for w in model.weights]
    assert "accuracy_total" in fn.source and "_result" not in fn.source
    acc, mse = metrics.BinaryAccuracy(name="ba", threshold=0.4), metrics.MeanSquaredError()
    model.compile(optimizers.SGD(0.0), "binary_crossentropy", metrics=[acc, mse, "BinaryAccuracy"],
                  backend="numpy")
    assert model.metrics_names == ["loss", "ba", "mean_squared_error", "binary_accuracy"]
    p = model.predict(x, verbose=0)
    history = model.fit(x, y, batch_size=5, epochs=2, verbose=0)
    assert close(history.history["ba"], [np.mean((p > 0.4) == (y == 1))] * 2)
    assert close(history.history["mean_squared_error"], [np.mean((p - y) ** 2)] * 2)
    assert close(history.history["binary_accuracy"], [np.mean((p > 0.5) == (y == 1))] * 2)
    assert close(acc.result(), np.mean((p > 0.4) == (y == 1)))       # the state the train function left
    assert "ba_result" in model.make_train_function().source


def test_multi_label_auc_and_class_id_in_a_model():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = (x[:, :3] + 0.8 * rng.normal(size=(40, 3)) > 0).astype("float32")
    model = Sequential([layers.Dense(3, activation="sigmoid", input_shape=(5,))])
    model.compile(optimizers.SGD(0.0), "binary_crossentropy",
                  metrics=[metrics.AUC(multi_label=True, name="ml_auc"), metrics.Recall(class_id=2)],
                  backend="numpy")
    p = model.predict(x, verbose=0)
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert close(logs["ml_auc"], np.mean([np_auc(y[:, j], p[:, j]) for j in range(3)]), 1e-4)
    assert close(logs["recall"], np_recall(y[:, 2], p[:, 2]), 1e-5)

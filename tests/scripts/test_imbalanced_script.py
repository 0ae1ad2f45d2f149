"""An imbalanced-classification script written the Keras 2 way (a Dense network on rare positives,
class weights inversely proportional to the class counts, the confusion counts, Precision, Recall
and AUC as compile metrics), with only its import changed (``keras`` → ``symkeras``), run end to
end in its own process: the History holds every metric under its name, for training and
validation, and the values are those of the data (the counts add up to the class sizes, the
rates lie in [0, 1], and the weighted model finds most of the rare class)."""

import json

from keras2_script import run_script

IMBALANCED = """
import json
import numpy as np
from symkeras import metrics, optimizers
from symkeras.models import Sequential
from symkeras.layers import Dense, Dropout

# Synthetic transactions: about 1 in 20 is fraudulent, and frauds sit off the main cloud.
rng = np.random.RandomState(0)
n, d = 2400, 12
features = rng.normal(size=(n, d)).astype('float32')
score = features[:, :3].sum(axis=1) + 0.5 * rng.normal(size=n)
targets = (score > np.quantile(score, 0.95)).astype('float32')[:, None]

num_val = n // 5
train_features, val_features = features[:-num_val], features[-num_val:]
train_targets, val_targets = targets[:-num_val], targets[-num_val:]
counts = np.bincount(train_targets[:, 0].astype('int64'))
print('counts', counts[0], counts[1])
print('val_counts', int((val_targets == 0).sum()), int((val_targets == 1).sum()))

mean, std = train_features.mean(axis=0), train_features.std(axis=0)
train_features = (train_features - mean) / std
val_features = (val_features - mean) / std

model = Sequential()
model.add(Dense(32, activation='relu', input_shape=(d,)))
model.add(Dense(32, activation='relu'))
model.add(Dropout(0.3))
model.add(Dense(1, activation='sigmoid'))

model_metrics = [
    metrics.FalseNegatives(name='fn'),
    metrics.FalsePositives(name='fp'),
    metrics.TrueNegatives(name='tn'),
    metrics.TruePositives(name='tp'),
    metrics.Precision(name='precision'),
    metrics.Recall(name='recall'),
    metrics.AUC(name='auc'),
]
model.compile(optimizer=optimizers.Adam(1e-2), loss='binary_crossentropy', metrics=model_metrics)

weight_for_0 = 1.0 / counts[0]
weight_for_1 = 1.0 / counts[1]
class_weight = {0: weight_for_0, 1: weight_for_1}

history = model.fit(train_features, train_targets, batch_size=256, epochs=12, verbose=0,
                    validation_data=(val_features, val_targets), class_weight=class_weight)
print('history', json.dumps({k: [float(v) for v in vs] for k, vs in history.history.items()}))
print('evaluate', json.dumps(model.evaluate(val_features, val_targets, batch_size=128, verbose=0,
                                            return_dict=True)))
"""


def _parsed(stdout):
    out = {}
    for line in stdout.splitlines():
        key, _, rest = line.partition(" ")
        out[key] = json.loads(rest) if rest.startswith("{") else [int(v) for v in rest.split()]
    return out


def test_imbalanced_classification_script(tmp_path):
    out = _parsed(run_script(IMBALANCED, tmp_path))
    history, negatives, positives = out["history"], *out["counts"]
    val_negatives, val_positives = out["val_counts"]
    names = ["loss", "fn", "fp", "tn", "tp", "precision", "recall", "auc"]
    assert list(history) == names + ["val_" + n for n in names]
    assert all(len(values) == 12 for values in history.values())
    for epoch in range(12):
        # the counts of an epoch cover its samples once (reset between epochs and before validation)
        assert history["tp"][epoch] + history["fn"][epoch] == positives
        assert history["tn"][epoch] + history["fp"][epoch] == negatives
        assert history["val_tp"][epoch] + history["val_fn"][epoch] == val_positives
        assert history["val_tn"][epoch] + history["val_fp"][epoch] == val_negatives
        for prefix in ("", "val_"):
            tp, fp, fn = (history[prefix + k][epoch] for k in ("tp", "fp", "fn"))
            assert abs(history[prefix + "precision"][epoch] - (tp / (tp + fp) if tp + fp else 0.0)) < 1e-5
            assert abs(history[prefix + "recall"][epoch] - tp / (tp + fn)) < 1e-5
            assert 0.0 <= history[prefix + "auc"][epoch] <= 1.0
    assert positives < negatives / 10
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_auc"][-1] > 0.9 and history["val_recall"][-1] > 0.7    # the rare class is found
    evaluate = out["evaluate"]
    assert set(evaluate) == set(names)
    assert evaluate["tp"] + evaluate["fn"] == val_positives
    for k in ("tp", "fp", "tn", "fn", "precision", "recall", "auc"):    # same weights as the last validation
        assert abs(evaluate[k] - history["val_" + k][-1]) < 1e-5

"""A callback the distribution tests' subprocess scripts share (they import it with the
repository on PYTHONPATH)."""

import keras
import numpy as np


class StepLosses(keras.callbacks.Callback):
    """Each step's own loss: `logs["loss"]` is the running mean over the epoch's steps."""

    def on_train_begin(self, logs=None):
        self.means = []

    def on_train_batch_end(self, batch, logs=None):
        self.means.append(float(logs["loss"]))

    def per_step(self):
        totals = np.arange(1, len(self.means) + 1) * np.array(self.means, "float64")
        return np.diff(totals, prepend=0.0).tolist()

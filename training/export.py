"""Turn a trained Keras model into the NumPy weights the serving path loads.

Publishing the result is the models directory's business: ``recognizer.model_store.ModelStore.publish``.
"""

from __future__ import annotations

import keras
import numpy as np

from recognizer.classifier import DenseClassifier


def to_dense_classifier(model: keras.Model) -> DenseClassifier:
    """Fold BatchNorm into the preceding Dense layer and drop the layers that only act in training."""
    kernels: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    input_scale = 1.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Rescaling):
            if kernels or float(layer.offset) != 0.0:
                raise ValueError("only a leading Rescaling without offset can be exported")
            input_scale = float(layer.scale)
        elif isinstance(layer, keras.layers.Dense):
            kernel = np.asarray(layer.kernel.numpy(), np.float64)
            bias = np.asarray(layer.bias.numpy(), np.float64) if layer.use_bias else np.zeros(kernel.shape[1])
            kernels.append(kernel)
            biases.append(bias)
        elif isinstance(layer, keras.layers.BatchNormalization):
            gamma = layer.gamma.numpy() if layer.scale else 1.0
            beta = layer.beta.numpy() if layer.center else 0.0
            factor = gamma / np.sqrt(layer.moving_variance.numpy() + layer.epsilon)
            kernels[-1] = kernels[-1] * factor
            biases[-1] = (biases[-1] - layer.moving_mean.numpy()) * factor + beta
        elif not isinstance(layer, (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Dropout,
                                    keras.layers.Activation)):
            raise ValueError(f"layer {layer.name} ({type(layer).__name__}) has no NumPy equivalent")
    return DenseClassifier(kernels, biases, input_scale)

"""The dense (fully connected) network: no convolutions, by design of the product."""

from __future__ import annotations

import keras
from keras import layers

from training.config import ModelConfig
from training.data import IMAGE_SHAPE, NUM_CLASSES


def build_model(cfg: ModelConfig = ModelConfig()) -> keras.Model:
    """Rescale 0-255 pixels, then Dense -> BatchNorm -> ReLU -> Dropout blocks and a softmax layer.

    Rescaling lives inside the model so the Keras file and the NumPy serving path take the same raw
    MNIST-format input. BatchNorm is folded into the Dense weights when the model is exported.
    """
    inputs = keras.Input(shape=IMAGE_SHAPE, name="digit")
    x = layers.Flatten()(inputs)
    x = layers.Rescaling(1.0 / 255.0)(x)
    if cfg.input_dropout:
        x = layers.Dropout(cfg.input_dropout)(x)
    for index, units in enumerate(cfg.hidden_units):
        x = layers.Dense(units, use_bias=False, name=f"dense_{index}")(x)
        x = layers.BatchNormalization(name=f"norm_{index}")(x)
        x = layers.Activation("relu", name=f"relu_{index}")(x)
        if cfg.dropout:
            x = layers.Dropout(cfg.dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digitbot_dense")

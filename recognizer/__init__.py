"""Photo in, digits out: decoding, MNIST-style preprocessing and a TensorFlow-free dense model."""

from recognizer.decode import ImageDecodeError, ImageTooLargeError, NotAnImageError, TruncatedImageError
from recognizer.model_store import ModelError
from recognizer.recognizer import (
    STATUS_NO_DIGIT,
    STATUS_OK,
    STATUS_UNSURE,
    DigitResult,
    Recognition,
    Recognizer,
)

__all__ = [
    "STATUS_NO_DIGIT", "STATUS_OK", "STATUS_UNSURE", "DigitResult", "ImageDecodeError", "ImageTooLargeError",
    "ModelError", "NotAnImageError", "Recognition", "Recognizer", "TruncatedImageError",
]

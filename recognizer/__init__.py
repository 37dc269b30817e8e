"""Photo in, digits out: decoding, MNIST-style preprocessing and a TensorFlow-free dense model."""

from recognizer.decode import ImageDecodeError, ImageTooLargeError, NotAnImageError, TruncatedImageError
from recognizer.model_store import ModelError
from recognizer.recognizer import DigitResult, Recognition, Recognizer, Status

__all__ = [
    "DigitResult", "ImageDecodeError", "ImageTooLargeError", "ModelError", "NotAnImageError", "Recognition",
    "Recognizer", "Status", "TruncatedImageError",
]

"""Expressions of every face in images, folders, videos and webcams: `Recognizer`, and its
typed results `Prediction` (one per image or frame) and `Face`."""

from scancci.inference.recognizer import Recognizer
from scancci.inference.results import Face, Prediction

__all__ = ["Face", "Prediction", "Recognizer"]

"""The judge side of training (instructor only): judge tests and references."""

"""The judge side of optimizers (instructor only): judge tests and references."""

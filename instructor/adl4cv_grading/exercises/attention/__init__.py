"""The judge side of attention (instructor only): judge tests and references."""

"""The judge side of visualization (instructor only): judge tests and references."""

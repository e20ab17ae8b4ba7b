"""The judge side of tiny (instructor only): judge tests and references."""

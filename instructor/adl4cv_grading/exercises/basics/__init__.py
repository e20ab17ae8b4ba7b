"""The judge side of basics (instructor only): judge tests and references."""

"""The judge side of generative (instructor only): judge tests and references."""

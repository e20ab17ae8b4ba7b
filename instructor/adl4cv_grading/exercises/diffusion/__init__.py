"""The judge side of diffusion (instructor only): judge tests and references."""

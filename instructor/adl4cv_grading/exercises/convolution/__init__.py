"""The judge side of convolution (instructor only): judge tests and references."""

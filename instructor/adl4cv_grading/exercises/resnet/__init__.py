"""The judge side of resnet (instructor only): judge tests and references."""

"""hull: a container engine implementing Docker's model of images and containers."""

__version__ = "0.1.0"

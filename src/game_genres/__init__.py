"""Multi-label video game genre classification from cover art."""

__version__ = "0.1.0"

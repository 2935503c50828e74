"""kneefix: a coaching tool for runner's knee (patellofemoral pain)."""

__version__ = "0.1.0"

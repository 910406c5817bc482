"""SR License Portal Desktop: the reseller's license desk and the portal API server behind it."""

__version__ = "0.1.0"

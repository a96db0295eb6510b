"""qa: batch quality inspection of e-commerce customer-service chat logs."""

__version__ = "0.1.0"

"""netgrade: from extracted trial data to a recommendation anyone can check."""

__version__ = "0.1.0"

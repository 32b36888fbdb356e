"""AIMS Review: ISO/IEC 42001 performance evaluation and management review (library)."""

__version__ = "0.1.0"

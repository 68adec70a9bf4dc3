"""Model files: a zip of ``.npy`` arrays and JSON metadata that cannot run code when loaded,
written atomically."""

from deltaprop.files.archive import ModelFileError, load, save, write_atomic

__all__ = ["ModelFileError", "load", "save", "write_atomic"]

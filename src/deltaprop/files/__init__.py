"""Model files: a zip of ``.npy`` arrays and JSON metadata that cannot run code when loaded,
read to a budget the architecture sets, written atomically.

- :mod:`deltaprop.files.codec`: models ↔ metadata and arrays, every value checked;
- :mod:`deltaprop.files.archive`: the zip: ``save``, ``load``, the budgeted reader;
- :mod:`deltaprop.files.atomic`: atomic writes, the output lock, Ctrl-C held during a save.
"""

from deltaprop.files.archive import load, model_bytes, read_metadata, save
from deltaprop.files.atomic import InterruptGuard, OutputLock, write_atomic
from deltaprop.files.codec import ModelFileError

__all__ = ["ModelFileError", "load", "save", "write_atomic", "model_bytes", "read_metadata", "InterruptGuard",
           "OutputLock"]

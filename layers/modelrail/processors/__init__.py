"""Task processors: one module per task behind the ``Processor`` interface in ``base.py``."""

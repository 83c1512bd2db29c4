"""Presentation: progress bars (``progress``) and PNG plots (``plots``)."""

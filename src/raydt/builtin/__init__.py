"""Built-in default trainers on bundled scikit-learn data (no downloads)."""

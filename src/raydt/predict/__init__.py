"""Batch inference (``mode: predict``): a dataset scored with a trained model on Ray Data.

- ``batch``: ``Scorer``, the callable class Ray Data runs on an actor pool (``map_batches``): the model is loaded
  once per actor, exactly as a serve replica loads it, and each batch of raw rows goes through the checkpoint's
  saved preprocessing; rows that cannot be scored are counted (``onBadRows: skip``) or fail the run (``fail``).
- ``output``: the staging folder beside the output (Ray Data's writer streams there) and the move into place.

The runner (``runners.predict``) connects, reads the data, checks its columns against the checkpoint, runs the
pool and writes the result.
"""

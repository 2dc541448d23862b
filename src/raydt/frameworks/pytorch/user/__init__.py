"""raydt's own loop for a user's plain PyTorch model (``trainConfig.model``, ``data``, ``loss``, ``metrics``):

- ``code``: the user's pieces imported, called and checked (model by class keywords or function, datasets, loss);
- ``probe``: one batch through model, loss, metrics and postprocess in the driver, before Ray starts;
- ``loop``: the Ray Train per-worker loop (DDP, sampler, optimizer, precision, metrics, checkpoints, resume),
  entered from the pytorch framework's ``trainer.train_loop`` when the config names a user model;
- ``strategy``: ``trainConfig.strategy`` (ddp, or FSDP2's fully_shard) and the full state a checkpoint holds;
- ``predictor``: serving its checkpoints
  (``serveConfig.predictorPath: raydt.frameworks.pytorch.user.predictor:Predictor``).

A sub-package, so the framework folder keeps the shape every framework has (``__init__``, ``trainer``,
``predictor``).
"""

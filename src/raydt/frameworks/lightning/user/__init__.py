"""The pieces of a Lightning run (the framework's ``trainer.train_loop`` drives them):

- ``code``: the user's LightningModule and data, imported, called and checked;
- ``report``: raydt's ``RayTrainReportCallback`` (each epoch's report and checkpoint, and the files serving reads).

A sub-package, so the framework folder keeps the shape every framework has (``__init__``, ``trainer``,
``predictor``).
"""

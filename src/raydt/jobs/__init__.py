"""Ray Jobs: ``raydt submit`` and ``raydt jobs ...`` through Ray's Job Submission API (see ``commands``)."""

"""Serving trained checkpoints with Ray Serve: predictors (checkpoint -> predictions) and the HTTP app."""

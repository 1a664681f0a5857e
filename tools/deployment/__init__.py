"""Deployment tools: publishing checkpoints to the model zoo
(:mod:`deployment.publishing`, with ``tools/`` on ``sys.path``)."""

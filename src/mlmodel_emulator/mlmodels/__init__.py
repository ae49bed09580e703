"""ML models: /api/v1/mlmodels, each under an ML model service."""

"""The ML model service resource: /api/v1/services/mlmodelServices."""

"""The entity core every kind shares: declarations, rules, storage, answers and routes."""

"""Users, teams, domains, classifications and tags: the entities other resources point at."""

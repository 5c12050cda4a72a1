"""Distribution (registry) support: the HTTP registry server lives in ``hull.registry.server``."""

"""The scenarios ``ganger local --demo`` runs through the processors (never shipped in a function package)."""

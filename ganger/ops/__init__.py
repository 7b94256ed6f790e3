"""The operator layer: what `ganger status`, `ganger tasks` and `ganger config` do, without the command line.

The CLI modules parse arguments and render; the work is here, over TaskStore and ConfigStore: finding
and listing tasks by state (``tasks``, ``reads``), per-labourer counts (``status``), redriving dead
tasks (``redrive``, shared with the Scavenger's ``redrive`` action) and config documents (``config``).
"""

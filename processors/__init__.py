"""Business Lambdas built on ganger, one package per feature: ``telegram`` (the webhook, the front door),
``video``, ``image``, ``devbox``, ``feedings``, ``fleet`` (fleet metrics), and ``demo`` (local mode's
scenarios, never shipped). ``configured_worker`` is the base the workers share."""

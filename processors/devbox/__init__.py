"""Dev boxes: the EC2 dev-instance worker (``/up``, ``/status``, ``/shutdown``, auto-shutdown), its config
document and its chat handlers."""

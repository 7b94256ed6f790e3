"""Feedings (the milk bot): the log and its Lambda, the parser of "12pm 120ml milk", and the chat handler."""

"""The benchmark harness: API calls and wall time of ganger (and of sosw 0.7.51) under in-process moto."""

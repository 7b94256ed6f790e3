"""Image: the worker that detects objects in a photo, the detectors and their model, predictions, and the
chat handler."""

"""Video: the worker that downloads a linked video (yt-dlp) and sends it back, and its chat handler."""

"""``python -m processors.detectors``, as the README and CI call it: the image detector's command line.

The detectors live in ``processors.image.detectors``; this module only forwards to its ``main``.
"""

from __future__ import annotations

from processors.image.detectors import main

if __name__ == "__main__":
    raise SystemExit(main())

"""The local runtime: an embedded AWS (moto), a Lambda endpoint, a clock, an API front and Telegram.

moto enables CORS for every origin on its server unless ``MOTO_DISABLE_GLOBAL_CORS`` is set when
``moto.settings`` is first imported (it is read once, into a module constant), so it is set here, before
any module of this package imports moto. ``ganger.local.origin_guard`` refuses foreign origins and strips
CORS headers whatever moto does, for a process that imported moto first.
"""

import os

from ganger.constants import ENV_MOTO_DISABLE_GLOBAL_CORS

os.environ.setdefault(ENV_MOTO_DISABLE_GLOBAL_CORS, "true")

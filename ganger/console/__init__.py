"""`ganger console`: a web console over the same reads and writes as the operator commands (``ganger.ops``).

``counts`` (bounded COUNT queries), ``reads`` (what each page shows), ``dead`` (dead tasks grouped by error),
``timeline`` (a task's attempts), ``forms`` (config edits: schema, inline field errors, diff), ``actions``
(pause, resume, redrive, config saves, each audited), ``security`` (Host, Origin and CSRF checks), ``layout`` and
``pages`` (server-rendered HTML), ``server`` (a ThreadingHTTPServer on 127.0.0.1). It imports nothing of
``ganger.local``: the same console serves local mode, any endpoint and AWS.
"""

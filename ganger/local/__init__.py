"""The local runtime: an embedded AWS (moto), a Lambda endpoint, a clock, an API front and Telegram."""

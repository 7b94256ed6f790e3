"""Business Lambdas built on ganger: the Telegram webhook and the seed processors."""

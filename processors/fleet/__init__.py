"""Fleet metrics: the Lambda that publishes BacklogPerInstance for every fleet labourer."""

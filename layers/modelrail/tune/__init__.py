"""``modelrail tune``: latency and $ per 1M inferences per Lambda memory size, against SageMaker, before deploy."""

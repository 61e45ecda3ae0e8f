"""Job execution outside the request path: the worker process and the embedded in-process worker."""

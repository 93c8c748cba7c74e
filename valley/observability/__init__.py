"""What an operator watches: structured logs with a request id, Prometheus metrics and the readiness check.

- logs.py: every log record carries the request id of the request (or Celery task) it was written in; JSON lines
  when LOG_FORMAT=json (python-json-logger).
- middleware.py: the middleware that gives each request its id (X-Request-ID) and counts it for the metrics.
- celery_signals.py: the id travels into the Celery tasks a request sends, in the message headers.
- metrics.py: /metrics in Prometheus' text format, for the scraper holding METRICS_TOKEN (or a superuser).
- readiness.py: /readyz, whether the database, the broker, the cache and the storage all answer.
"""

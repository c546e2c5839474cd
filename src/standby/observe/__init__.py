"""Watching Standby itself: the figures Prometheus scrapes from `GET /metrics`.

`figures` reads what is true now from the database (a service); `instruments` holds what
happens in this process (web requests, checks) and the registry that serves both;
`address` serves that registry on an address of its own (STANDBY_METRICS_ADDRESS).
"""

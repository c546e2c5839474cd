"""The public status page: the services customers know, their state, notices, maintenance, uptime.

`services`, `uptime`, `notices`, `statuspage` and `feed` are pure (time passed in);
`snapshot_service` reads the database once per change; `board` keeps the rendered
documents in memory so that requests never touch the database.
"""

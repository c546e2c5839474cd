"""The web edge: the JSON API under /api/v1/, the command-centre pages, and their doors.

Thin: requests are parsed here, the services and the core do the work, templates
render. `create_app` builds everything; importing this package builds nothing.
"""

"""The observatory's web application: the admin pages and the public JSON API (aiohttp).

Separate by trust (docs/notes/style.md, 5): `/admin` (signed-in admin, sessions and CSRF tokens) and
`/api/v1` (public, read-only, JSON) are separate sub-applications with their own
middlewares; the public statistics site (`site`, issue 6) is served under ``/{lang}/``
and ``/data/`` with its own headers (public caching, its own stylesheet hash).
"""

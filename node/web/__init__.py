"""The node's HTTP side: the public intake site, the JSON API and the staff back office.

Separate by trust (STYLE.md, 5): each is its own route set with its own middlewares, and
the public site can be served on its own address.
"""

"""The node's HTTP side, one package per trust zone:

* `reporter`: the reporter's site (no account; a session cookie, a receipt);
* `api`: the JSON API at ``/api/v1``, the same channel for programs;
* `staff`: the staff office at ``/staff`` (accounts, roles, second factor), which can be
  served on an address of its own (`node.server`).

Each is its own route set with its own middlewares. What they share is plumbing, each
piece in a module named for what it is: `app` (the factory), `appkeys` (every app key),
`rendering`, `language`, `formatting`, `responses` (redirects and cookies), `failures`
(errors to statuses and pages), `ratelimit`, `security` (headers, CSRF), `sessions` (the
in-memory store), `accesslog` and `labels`.
"""

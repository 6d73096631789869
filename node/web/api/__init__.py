"""The JSON API (``/api/v1``): the reporting and receipt channel for programs -- a future
app, an import from KoboToolbox -- over the same services as the reporter's site, in the
same trust zone (no account; the receipt and secret open a report). Served on the public
address.

* `models`: request bodies and answers;
* `handlers`: the handlers and `ROUTES`, the one table that registers each route and
  documents it;
* `openapi`: the OpenAPI 3.1 document generated from that table and the models.
"""

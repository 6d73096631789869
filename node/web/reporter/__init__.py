"""The reporter's side: the pages a survivor, a relative or a witness uses, without an
account, in their language, without JavaScript if need be.

* `site`: home, services, quick exit, and the site's route table (`add_routes`);
* `report_flow`: the report form, one topic per screen;
* `receipt_pages`: coming back with a receipt (status, additions, consent, replies,
  deletion);
* `uploads`: streaming files into encrypted attachments (the JSON API uses it too);
* `tus`: resumable uploads of the files step (tus 1.0), the state of each upload in
  `node.intake.partial_uploads`;
* `sessions`: the reporter's in-memory session and its cookie.

Nothing here is shared with the staff office; what both use is plumbing with its own name
in `node.web` (rendering, language, responses, failures, rate limits, security headers).
"""

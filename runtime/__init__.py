"""What the node and the observatory both need to run safely, written once.

`node` and `observatory` never import each other (docs/architecture.md); what they share is here:
SQLite with discipline (`sqlite`), logs that never hold an address (`logs`), the security
headers of every response (`headers`) and private files written atomically (`files`). No
business logic; imports nothing of the project but itself.
"""

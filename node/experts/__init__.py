"""The expert network on a node (issue 16): expert accounts and their profiles.

An expert is a `staff` account whose only role is ``expert`` (`node.accounts.check_roles`),
invited like staff (`node.invitations`), with their own keys and passphrase and a second
factor they cannot turn off. They sign in on the expert app (`node.web.expert`), never the
staff office, and see only what was shared with them. `profiles` keeps their signing key and
the structured profile the federation may see (`protocol.experts.ExpertProfile`).
"""

"""BackUp's cryptography: pure functions over bytes, the only package that touches PyNaCl.

Distinct types for distinct keys (a signing key cannot be passed where a box key is
expected), nonces generated for the caller, one opaque error for every failed open.
"""

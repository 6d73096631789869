"""Repeat perpetrators across organisations without revealing a name (issue 18).

`recipe` turns confirmed identifiers into the OPRF inputs of tokens (which combinations,
normalised by the one name normaliser `node.analysis.names`); `evaluation` blinds them, asks
the evaluator through the one client exchange and checks its proof against the published key.
"""

"""The steps of a micro-acquisition that span apps, in the order they happen.

The apps stack (docs/DESIGN.md, "Layers"): marketplace < opportunities < bids < evaluation <
payments; each app's services change its own rows and call only the apps below it. A step that
changes rows of several apps — closing an opportunity seals its bids and opens its evaluation;
an award writes a contract; a decline or a default passes the award to the next bid; a payment
completes the contract and the opportunity — is sequenced here, once, so that "what happens at
the close?" is read in one function. Views and tasks call these; no app imports this package
(`make lint` checks it with import-linter).
"""

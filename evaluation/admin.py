"""Django admin registrations of the evaluation app: deliberately none, and there must be none.

Evaluations, packets and their attachments, the panel, marks, consensus and offers are the blind
evaluation itself (DESIGN.md §5). A packet's row links to its bid and so to the supplier (the
escrow), its answers are what evaluators score, and the marks are theirs to give: the technical
admin must neither read across that link nor change a mark, a consensus or the draw's inputs.
The program admin's pages (the access log, the public draw page, `verify_draw`) show what needs
showing, through services that audit every view.
"""

"""Django admin registrations of the reports app.

`SelfIdentification` is deliberately NOT registered, and must not be: the technical admin would
show each supplier's answers one by one, to people who are neither the supplier nor bound by the
aggregate-only rule. Those answers are read only by `reports.diversity`, which suppresses small
cells, and removed by the supplier themselves.
"""

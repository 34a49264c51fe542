"""Django admin registrations of the reports app.

`SelfIdentification` is deliberately NOT registered, and must not be: the technical admin would
show each supplier's answers one by one, to people who are neither the supplier nor bound by the
aggregate-only rule. Those answers are read only by `reports.diversity`, which publishes frozen,
rounded figures per quarter, and removed by the supplier themselves.

`DiversitySnapshot` is not registered either: the published figures are read on the program
dashboard, and an admin page could only add a way to edit or delete a frozen quarter.
"""

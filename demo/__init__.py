"""The demo data: the live demo (`manage.py seed_demo`), its past year, and the benchmark's
data set, outside the production apps (issue 22, point 4).

Layout:
- `builders.py`  the one writer of domain rows shared by the demo history (bulk) and the
                 benchmark data set (COPY): statuses from the models' Status enums, verbs
                 checked against marketplace/audit_verbs.py's registry, each row's field set
                 in one place;
- `accounts.py`  the demo accounts (staff, suppliers, the published password) and their table;
- `opportunities.py`, `bids.py`, `evaluation.py`, `payments.py`  the live demo, made through
                 the apps' services and the lifecycle steps, as people would;
- `history.py`   a year of past files, planned in memory and written in bulk through the
                 builders (replaying a year through the services would send hundreds of
                 notifications and take minutes);
- `seed.py`      the order of the steps; `management/commands/seed_demo.py` runs it and
                 `demo_logins.py` prints the accounts table (`make demo`).

An installed app (INSTALLED_APPS, last) so that its commands exist; it has no models. Nothing in
the production apps imports it.
"""

# Production-like image for the Micro-Acquisition Marketplace (web, Celery worker and beat all
# run from this one image; see docker-compose.yml). Build: `docker compose build`.

# --- Stage 1: front-end packages from npm (never committed to the repository) -----------------
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json .npmrc ./
# package.json's postinstall builds the self-contained GC Design System assets
# (node_modules/.gcds-static) with this script.
COPY scripts/vendor-gcds.mjs ./scripts/
RUN npm install --no-package-lock --no-audit --no-fund \
    && test -f node_modules/.gcds-static/components/gcds.css

# --- Stage 2: the Django application ------------------------------------------------------------
FROM python:3.11-slim AS app

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=marketplace.settings

WORKDIR /app

# Dependencies first, pinned by the lock file. The project is installable (pyproject.toml,
# setuptools), so pip needs the metadata files and every package of its include list
# ([tool.setuptools.packages.find], in its order; tests/test_production_stack.py checks that
# this list and that one agree).
COPY pyproject.toml requirements.lock README.md ./
COPY marketplace ./marketplace
COPY opportunities ./opportunities
COPY bids ./bids
COPY evaluation ./evaluation
COPY payments ./payments
COPY lifecycle ./lifecycle
COPY reports ./reports
COPY demo ./demo
RUN pip install -c requirements.lock . \
    && rm -rf build ./*.egg-info

# settings.STATICFILES_DIRS serves node_modules/.gcds-static (the GC Design System's components,
# fonts and utility classes, built by scripts/vendor-gcds.mjs) as static/vendor/gcds.
COPY --from=assets /build/node_modules /app/node_modules

# The rest of the application (templates, static, locale, manage.py, scripts …);
# .dockerignore keeps local state (.venv, node_modules, db.sqlite3, .env …) out.
COPY . .

# Static files are collected at build time into /app/staticfiles (hashed + compressed by
# WhiteNoise's manifest storage, which settings only select when DEBUG is off). Settings refuse to
# load without a secret key when DEBUG is off, so this one step gets a throwaway key through its
# own environment: it is not an ENV of the image, and the real key comes from the runtime
# environment (docker-compose.yml / .env).
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-build-step-only-not-a-secret \
    python manage.py collectstatic --noinput

# Run as an unprivileged user; the code and collected static files stay root-owned (read-only
# for the app). Celery beat keeps its schedule in /tmp (see docker-compose.yml).
# Bid attachments go to /data/private-media, the one directory the app writes (a volume in
# docker-compose.yml; created here so that the volume starts out owned by the app user).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app \
    && mkdir -p /data/private-media && chown app:app /data/private-media
USER app

EXPOSE 8000

CMD ["gunicorn", "marketplace.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

# ClimCRM web image: gunicorn + whitenoise, static files and catalogues built in.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
COPY --from=assets /src/node_modules ./node_modules
RUN pip install --no-cache-dir . \
    && python scripts/vendor_assets.py \
    && rm -rf node_modules \
    && DEBUG=1 python manage.py compilemessages --ignore=node_modules -v 0 \
    && DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input -v 0
RUN useradd --system --home /app climcrm && chown -R climcrm /app
USER climcrm
EXPOSE 8000
CMD ["gunicorn", "climcrm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]

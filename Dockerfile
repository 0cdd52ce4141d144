# Production image: gunicorn with one gevent worker per container (scale by containers).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FLASK_ENV=production

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --create-home --uid 10001 roundtable \
    && mkdir -p /app/instance /app/uploads \
    && chown -R roundtable:roundtable /app/instance /app/uploads
USER roundtable

EXPOSE 8000
# Every interface of the container (its private network): nginx reaches it from there.
ENV BIND=0.0.0.0:8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"
# The app creates its indexes itself before serving (utils/db.ensure_indexes).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]

FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN SECRET_KEY=build python manage.py collectstatic --noinput -v0 \
    && python scripts/compilemessages

EXPOSE 8000
# gunicorn.conf.py names the app and the worker (uvicorn's, couponsite.server.worker).
CMD ["gunicorn", "-c", "gunicorn.conf.py"]

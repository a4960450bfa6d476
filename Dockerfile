# supplier-risk serving image: two stages, non-root, no scikit-learn, no network at run time.
#
#   docker build -t supplier-risk .
#   docker run --rm -p 8000:8000 supplier-risk
#   docker run --rm -p 8000:8000 -v "$PWD/my-model.json:/app/models/default.json:ro" supplier-risk
#
# BASE_IMAGE lets CI substitute a locally built stand-in for python:3.11-slim
# (scripts/docker-base); the stages only assume `python3` with venv on PATH.
ARG BASE_IMAGE=python:3.11-slim

# ---- build: lock-pinned dependencies and the project wheel, in a venv ----
FROM ${BASE_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/venv

# Dependencies first, from the lock alone, so code changes reuse this layer.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.lock

# The wheel force-includes models/default.json as supplier_risk/data/models/default.json.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY models/ models/
COPY supplier_risk/ supplier_risk/
COPY service/ service/
COPY training/ training/
RUN /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/wheels . \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps /tmp/wheels/supplier_risk-*.whl \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/python -m pip uninstall --yes pip setuptools

# Fail the build, not the first request: model and reference data are packaged, scikit-learn is
# not. -I: check the installed package, not the source tree in the working directory.
RUN /opt/venv/bin/python -I -c "from importlib import resources, util; \
data = resources.files('supplier_risk') / 'data'; \
missing = [n for n in ('models/default.json', 'materials.json', 'policy.json') if not (data / n).is_file()]; \
assert not missing, f'not packaged: {missing}'; \
assert util.find_spec('sklearn') is None, 'scikit-learn must not be in the serving image'"

# ---- runtime: the same Python, the venv and the model, nothing else ----
FROM ${BASE_IMAGE} AS runtime

RUN groupadd --system --gid 10001 app \
    && useradd --system --no-log-init --uid 10001 --gid app --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv
# A fixed path operators can bind-mount a new model over (read-only, owned by root).
COPY models/default.json /app/models/default.json

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SUPPLIER_RISK_MODEL_PATH=/app/models/default.json

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# /readyz is 200 once the model is loaded; urllib raises (exit 1) on anything else.
# SUPPLIER_RISK_PORT is read only so a CMD overridden to another port stays healthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('SUPPLIER_RISK_PORT', '8000'), timeout=2)"]

CMD ["supplier-risk", "serve", "--host", "0.0.0.0", "--port", "8000"]

# supplier-risk serving image: two stages, non-root, no scikit-learn, no network at run time.
#
#   docker build -t supplier-risk .
#   docker run --rm -p 8000:8000 supplier-risk
#   docker run --rm -p 8000:8000 -v "$PWD/my-model.json:/app/models/default.json:ro" supplier-risk
#
# BASE_IMAGE lets CI substitute a locally built stand-in for python:3.11-slim
# (scripts/docker-base); the stages only assume `python3` with venv on PATH.
# Few instructions on purpose: on a vfs-backed daemon every step copies the whole filesystem.
ARG BASE_IMAGE=python:3.11-slim

# ---- build: lock-pinned dependencies and the project, in a venv ----
FROM ${BASE_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

# Dependencies first, from the lock alone, so code changes reuse this layer.
WORKDIR /src
COPY requirements.lock ./
# pandas' and NumPy's own test suites are two thirds of their files and never run here.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements.lock \
    && rm -rf /opt/venv/lib/python3*/site-packages/pandas/tests \
    && find /opt/venv/lib/python3*/site-packages/numpy -type d -name tests -prune -exec rm -rf {} +

# The context is an allow-list (.dockerignore): pyproject, README, lock, models and packages.
# The wheel force-includes models/default.json as supplier_risk/data/models/default.json.
# Then fail the build, not the first request: model and reference data must be packaged and
# scikit-learn must not be (-I: check the installed package, not the source tree here).
COPY . .
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps . \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/python -m pip uninstall --yes pip setuptools \
    && /opt/venv/bin/python -I -c "from importlib import resources, util; \
data = resources.files('supplier_risk') / 'data'; \
missing = [n for n in ('models/default.json', 'materials.json', 'policy.json') if not (data / n).is_file()]; \
assert not missing, f'not packaged: {missing}'; \
assert util.find_spec('sklearn') is None, 'scikit-learn must not be in the serving image'"

# ---- runtime: the same Python, the venv, the model and the reference data, nothing else ----
FROM ${BASE_IMAGE} AS runtime

RUN groupadd --system --gid 10001 app \
    && useradd --system --no-log-init --uid 10001 --gid app --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv
# Fixed paths operators can bind-mount a new model or policy table over (read-only, root-owned).
COPY models/default.json /app/models/default.json
COPY supplier_risk/data/materials.json supplier_risk/data/end_uses.json \
     supplier_risk/data/policy.json supplier_risk/data/scenarios.json /app/reference/

# Every setting is a SUPPLIER_RISK_* variable (docker run -e ...); these are the image's defaults.
# The service listens on 0.0.0.0:8000; change it here, not with CMD flags, so the HEALTHCHECK
# (which reads SUPPLIER_RISK_PORT) always probes the port the server is on.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SUPPLIER_RISK_HOST=0.0.0.0 \
    SUPPLIER_RISK_PORT=8000 \
    SUPPLIER_RISK_MODEL_PATH=/app/models/default.json \
    SUPPLIER_RISK_REFERENCE_DIR=/app/reference \
    SUPPLIER_RISK_SCENARIOS_PATH=/app/reference/scenarios.json

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# /readyz is 200 once a valid model is loaded; urllib raises (exit 1) on anything else. The
# probe sends the first API key if keys are set (blank entries skipped, as the settings skip
# them), so SUPPLIER_RISK_OPEN_HEALTH=false stays healthy.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; k = next((x.strip() for x in os.environ.get('SUPPLIER_RISK_API_KEYS', '').split(',') if x.strip()), ''); u.urlopen(u.Request('http://127.0.0.1:%s/readyz' % os.environ['SUPPLIER_RISK_PORT'], headers={'Authorization': 'Bearer ' + k} if k else {}), timeout=2)"]

# Exec form: the server is PID 1 and gets docker stop's SIGTERM itself (graceful shutdown).
CMD ["supplier-risk", "serve"]

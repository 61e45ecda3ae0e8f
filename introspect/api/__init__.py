"""The REST API (FastAPI, ``/v1``): thin routes over service functions and repositories."""

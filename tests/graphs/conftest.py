from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.graphs.harness import Harness, harness_for


@pytest.fixture
def harness(db_url: str, session_factory: sessionmaker[Session]) -> Iterator[Harness]:
    with harness_for(db_url, session_factory) as h:
        yield h

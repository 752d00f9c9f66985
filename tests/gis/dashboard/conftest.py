"""The dashboard tests use the incident fixtures (small street, categories, history)."""

from tests.gis.incidents.conftest import ctx, sconn, street_engine  # noqa: F401 (fixtures)
from tests.gis.incidents.test_stats_groups import history  # noqa: F401 (fixture)

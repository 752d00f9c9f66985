"""``/dashboard`` (the page an official lands on), ``/v1/dashboard`` (its data),
``/v1/evaluation`` (考核, JSON, CSV and .xlsx), the fast incident exports (CSV by COPY,
.xlsx) and the offline API docs. Thin: parse, authorize, call ``gis.dashboard``."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import Engine

from api.deps import Conn, get_engine, get_settings
from api.problems import problem_responses
from api.routers.incidents import FiltersDep, Reader
from api.scope import CallerScope
from api.security import require
from gis.coverage.thresholds import resolve_thresholds
from gis.dashboard import pages
from gis.dashboard.evaluation import SUBJECTS, evaluate, sheet_rows, weights_from
from gis.dashboard.figures import View, dashboard
from gis.dashboard.landing import landing_path
from gis.incidents.copy_export import XLSX_MAX_ROWS, stream_file, xlsx_file
from gis.incidents.export import check_export_size
from gis.incidents.query import Filters
from gis.labels import local_time
from gis.security.roles import Principal
from gis.settings import Settings

router = APIRouter(tags=["dashboard"])
Stats = Annotated[Principal, require("stats")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}


def _answers(media_type: str, *statuses: int) -> dict[int | str, Any]:
    """``responses=``: a 200 of ``media_type`` and the problem statuses."""
    return {200: {"content": {media_type: {}}}, **problem_responses(*statuses)}


def view_of(
    area: Annotated[str | None, Query(description="Area code (default: the key's scope)")] = None,
    period: Annotated[
        Literal["7d", "30d", "90d", "365d"], Query(description="The last N days")
    ] = "30d",
    category: Annotated[str | None, Query(description="Comma list of category codes")] = None,
    source: Annotated[str | None, Query(description="Comma list of sources")] = None,
) -> View:
    return View.parse(area=area, period=period, category=category, source=source)


ViewDep = Annotated[View, Depends(view_of)]


@router.get("/home", include_in_schema=False)
def home(caller: Annotated[Principal, require(None)]) -> RedirectResponse:
    """Where a person goes after signing in: ``gis.dashboard.landing.landing_path``."""
    return RedirectResponse(landing_path(caller.role), status_code=303)


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    responses=HTML | problem_responses(422),
    summary="Dashboard page: headline figures, trends, rankings, evaluation (officials)",
)
def dashboard_page(request: Request, caller: Stats, view: ViewDep) -> HTMLResponse:
    """The page; its data comes from ``/v1/dashboard`` with the same query string."""
    session = getattr(request.state, "session", None)
    csrf = session.csrf_token if session is not None else ""
    return HTMLResponse(
        pages.dashboard_page(view, role=caller.role, static_url="/maps/static", csrf=csrf),
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/v1/dashboard",
    responses=problem_responses(404, 422, 503),
    summary="The dashboard's figures for an area and period",
)
def dashboard_data(
    caller: Stats, scope: CallerScope, conn: Conn, view: ViewDep, settings: SettingsDep
) -> dict[str, Any]:
    """Headline figures beside the previous period's, the trend per category, the ranking
    of the child areas one level down and of the departments with their evaluation index."""
    return dashboard(
        conn,
        view,
        scope=scope,
        weights=weights_from(settings),
        timezone=settings.incident_timezone,
        thresholds=resolve_thresholds(settings.coverage_thresholds),
    )


def _period_filters(filters: Filters) -> Filters:
    """The evaluation's period: ``from``/``to`` as given, else the last 30 days."""
    if filters.start is None and filters.end is None:
        now = datetime.now(UTC)
        return replace(filters, start=now - timedelta(days=30), end=now)
    return filters


By = Annotated[
    str,
    Query(
        description="What to rank: an area level (street, community, grid, micro_grid…), "
        "department or staff",
        json_schema_extra={"enum": list(SUBJECTS)},
    ),
]


def _evaluation(
    caller: Principal, conn: Any, filters: Filters, by: str, settings: Settings
) -> dict[str, Any]:
    return evaluate(
        conn,
        _period_filters(filters),
        subject=by,
        weights=weights_from(settings),
        timezone=settings.incident_timezone,
        thresholds=resolve_thresholds(settings.coverage_thresholds),
    )


@router.get(
    "/v1/evaluation",
    responses=problem_responses(422, 503),
    summary="Evaluation (考核): the composite index per area, department or staff member",
)
def evaluation(
    caller: Stats, conn: Conn, filters: FiltersDep, settings: SettingsDep, by: By = "community"
) -> dict[str, Any]:
    """Rows ranked by 综合指标值 with the figures behind it; ``formula`` and ``weights`` say
    how it is computed (weights: WANGGE_EVALUATION_*). Period: ``from``–``to`` (default the
    last 30 days)."""
    return _evaluation(caller, conn, filters, by, settings)


def _period_text(result: dict[str, Any], timezone: str) -> str:
    p = result["period"]
    return f"{local_time(p['from'], timezone)} 至 {local_time(p['to'], timezone)} ({timezone})"


@router.get(
    "/v1/evaluation.csv",
    response_class=Response,
    responses=_answers("text/csv", 422, 503),
    summary="Evaluation (考核) as CSV, with the period and the formula",
)
def evaluation_csv(
    caller: Stats, conn: Conn, filters: FiltersDep, settings: SettingsDep, by: By = "community"
) -> Response:
    result = _evaluation(caller, conn, filters, by, settings)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer).writerows(
        sheet_rows(result, period_text=_period_text(result, settings.incident_timezone))
    )
    return Response(
        buffer.getvalue().encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="evaluation-{by}.csv"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/v1/evaluation.xlsx",
    response_class=Response,
    responses=_answers(XLSX, 422, 503),
    summary="Evaluation (考核) as an .xlsx workbook, with the period and the formula",
)
def evaluation_xlsx(
    caller: Stats, conn: Conn, filters: FiltersDep, settings: SettingsDep, by: By = "community"
) -> Response:
    import xlsxwriter

    result = _evaluation(caller, conn, filters, by, settings)
    rows = sheet_rows(result, period_text=_period_text(result, settings.incident_timezone))
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        book = xlsxwriter.Workbook(path, {"strings_to_formulas": False, "strings_to_urls": False})
        sheet = book.add_worksheet("考核")
        for i, row in enumerate(rows):
            sheet.write_row(i, 0, row)
        book.close()
        with open(path, "rb") as f:
            data = f.read()
    finally:
        os.unlink(path)
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="evaluation-{by}.xlsx"'},
    )


@router.get(
    "/v1/incidents/export.xlsx",
    response_class=StreamingResponse,
    responses=_answers(XLSX, 413, 422, 503),
    summary="Export matching incidents as an .xlsx workbook (up to 1,048,575 rows)",
)
def export_xlsx(
    caller: Reader, engine: EngineDep, filters: FiltersDep, settings: SettingsDep
) -> Any:
    """One sheet, the columns of ``export.csv``; more rows than a sheet holds (or than
    WANGGE_MAX_EXPORT_ROWS) is a 413 before anything is written."""
    check_export_size(engine, filters, max_rows=min(settings.max_export_rows, XLSX_MAX_ROWS))
    path = xlsx_file(engine, filters)
    return StreamingResponse(
        stream_file(path),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="incidents.xlsx"'},
    )


@router.get("/docs", include_in_schema=False)
def swagger_ui() -> HTMLResponse:
    """Swagger UI from the vendored assets (works offline)."""
    return HTMLResponse(pages.docs_page("swagger", static_url="/maps/static"))


@router.get("/redoc", include_in_schema=False)
def redoc() -> HTMLResponse:
    """ReDoc from the vendored assets (works offline)."""
    return HTMLResponse(pages.docs_page("redoc", static_url="/maps/static"))

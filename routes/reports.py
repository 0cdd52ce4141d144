"""Reports: anyone signed in files one; moderators of the topic, or site staff, resolve."""
from __future__ import annotations

from routes.admin_schemas import (
    ReportBodySchema,
    ReportQuerySchema,
    ResolveBodySchema,
)
from services.admin import reports_service
from services.admin.reports_service import serialize_report
from services.discovery import my_lists
from services.platform.shapes.admin import (
    MyReportPageSchema,
    ReportPageSchema,
    ReportSchema,
    ResolutionSchema,
)
from utils.api import Blueprint
from utils.auth import current_user, login_required
from utils.pagination import page
from utils.schemas import PageQuerySchema

blp = Blueprint("reports", __name__, description="Reporting content and resolving reports")
topic_reports_blp = Blueprint("topic_reports", __name__,
                              description="Reports about one topic's content")


@blp.route("", methods=["POST"])
@login_required
@blp.arguments(ReportBodySchema)
@blp.response(201, ReportSchema)
@blp.alt_response(200, schema=ReportSchema, description="Already reported by you")
def create_report(body):
    """Report something you can see; reporting it again returns the same report."""
    report, created = reports_service.create_report(
        current_user(), body["target_type"], body["target_id"], body["reason"],
        body.get("details"))
    return serialize_report(report), 201 if created else 200


@blp.route("/mine")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, MyReportPageSchema)
def my_reports(query):
    """Reports I filed and their outcome (status, action taken, when), newest first."""
    return my_lists.my_reports(current_user(), query["limit"], query["cursor"])


@blp.route("/<objectid:report_id>/resolve", methods=["POST"])
@login_required
@blp.arguments(ResolveBodySchema)
@blp.response(200, ResolutionSchema)
def resolve(body, report_id):
    """Resolve a report and every open report about the same target."""
    closed = reports_service.resolve(current_user(), report_id, body["action"],
                                     body.get("note"), body.get("expires_at"))
    return {"action": body["action"], "resolved": len(closed),
            "reports": [serialize_report(report) for report in closed]}


@topic_reports_blp.route("/<objectid:topic_id>/reports")
@login_required
@topic_reports_blp.arguments(ReportQuerySchema, location="query")
@topic_reports_blp.response(200, ReportPageSchema)
def topic_reports(query, topic_id):
    """Reports about this topic's content (its moderators and site staff)."""
    reports, next_cursor = reports_service.list_for_topic(
        current_user(), topic_id, query["status"], query["limit"], query["cursor"])
    return page(reports, next_cursor, serialize_report)

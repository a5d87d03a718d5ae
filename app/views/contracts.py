"""Service contracts on screen (Art. 16, issue 13 item 7): the lab side keeps its units' contracts with
outside organisations and their scanned PDFs; a service user reads its organisation's. The scan is
checked by its content, stored outside the web root and downloaded only through these scoped pages."""
from flask import abort, current_app, g, request, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _
from flask_wtf.file import FileField
from markupsafe import Markup
from wtforms import TextAreaField
from wtforms.validators import DataRequired, ValidationError

from app import clock
from app.models import CustomerOrg, ServiceContract
from app.services.people import contracts

from . import formatting
from .base import ScopedModelView, interface

LABELS = {
    "number": _("Contract number"), "org": _("Customer organisation"), "org.name": _("Customer organisation"), "unit": _("Signed by unit"),
    "unit.name": _("Signed by unit"), "service_content": _("Service content"), "ip_ownership": _("Intellectual property"),
    "confidentiality": _("Confidentiality"), "damages": _("Damages"), "liability": _("Liability"),
    "dispute_resolution": _("Dispute resolution"), "signed_on": _("Signed on"), "valid_from": _("Valid from"),
    "valid_until": _("Valid until"), "scan": _("Scanned contract (PDF)"), "scan_file": _("Scanned contract"),
    "validity": _("Validity"),
}
DEFAULT_IP = _("The results the user obtains on its own belong to the user; joint results belong as the parties "
               "agreed in writing beforehand.")


class OutsideOrgFilter(BaseFilter):
    name = "Outside organisations"

    def apply(self, query, value):
        return query.filter(CustomerOrg.category != "campus")


def check_scan(form, field):
    upload = field.data
    if upload is None or not getattr(upload, "filename", ""):
        return
    data = upload.read()
    upload.seek(0)
    problem = contracts.check_pdf(data, current_app.config["CONTRACT_MAX_BYTES"])
    if problem:
        raise ValidationError(str(problem))


# a contract's validity (ServiceContract.validity) as a coloured label
VALIDITY_BADGES = {"unsigned": ("default", _("Not signed")), "expired": ("danger", _("Expired")),
                   "not_yet_valid": ("info", _("Not yet valid")), "valid": ("success", _("Valid"))}


def validity_badge(validity):
    colour, label = VALIDITY_BADGES[validity]
    return Markup('<span class="label label-{}">{}</span>').format(colour, label)


def scan_link(scan):
    """The scan's download (ServiceContract.scan_file) through the page's own view: the lab's or the user's."""
    if scan is None:
        return gettext("No scan uploaded")
    endpoint = request.url_rule.endpoint.split(".")[0] if request.url_rule else ""
    target = "MyContractView.file" if endpoint == "MyContractView" else "ServiceContractView.file"
    size = f"{scan.file_size / 1024:.0f} KB"
    return Markup('<a class="btn btn-default btn-xs contract-scan" href="{}"><i class="fa fa-file-pdf"></i> {}</a> {}').format(
        url_for(target, pk=scan.contract_id), scan.file_name, size)


class _ContractScreen(ScopedModelView):
    datamodel = interface(ServiceContract)
    label_columns = LABELS
    list_columns = ["number", "org.name", "unit.name", "signed_on", "valid_until", "validity"]
    show_columns = ["number", "org", "unit", "service_content", "ip_ownership", "confidentiality", "damages", "liability",
                    "dispute_resolution", "signed_on", "valid_from", "valid_until", "validity", "scan_file"]
    search_columns = ["number", "org", "unit", "signed_on", "valid_until"]
    formatters_columns = {**{name: formatting.multiline for name in ("service_content", "ip_ownership", "confidentiality",
                                                                     "damages", "liability", "dispute_resolution")},
                          "validity": validity_badge, "scan_file": scan_link}
    base_order = ("signed_on", "desc")
    file_endpoint = None

    def _send_scan(self, pk):
        contract = self.datamodel.get(pk, self._base_filters)
        if contract is None:
            abort(404)
        path = contracts.stored_path(current_app.config["CONTRACT_FOLDER"], contract)
        if path is None:
            abort(404)
        return send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=contract.file_name or f"{contract.number}.pdf", max_age=0)


class ServiceContractView(_ContractScreen):
    """The lab side's contracts (its unit and the units below it)."""

    list_title = _("Service contracts")
    show_title = _("Service contract")
    add_title = _("Add a service contract")
    edit_title = _("Edit the service contract")
    add_columns = edit_columns = ["number", "org", "unit", "service_content", "ip_ownership", "confidentiality", "damages",
                                  "liability", "dispute_resolution", "signed_on", "valid_from", "valid_until", "scan"]
    edit_form_extra_fields = {
        "scan": FileField(_("Scanned contract (PDF)"), validators=[check_scan],
                          description=_("The signed contract, scanned as one PDF (at most 10 MB)."))}
    add_form_extra_fields = {
        **edit_form_extra_fields,
        "ip_ownership": TextAreaField(LABELS["ip_ownership"], default=DEFAULT_IP, validators=[DataRequired()],
                                      render_kw={"class": "form-control", "rows": 3}),
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {"org": [["id", OutsideOrgFilter, None]]}
    description_columns = {
        "unit": _("A college's or the school's contract covers every lab below it."),
        "ip_ownership": _("Art. 16: by default, the results the user obtains on its own belong to the user."),
        "valid_until": _("Leave empty for a contract without an end date."),
    }
    file_endpoint = "ServiceContractView.file"

    @staticmethod
    def validate(session, item):
        contracts.validate(session, item)

    def process_form(self, form, is_created):
        # the upload is not a column: keep it aside, store it once the rules passed (pre_add/pre_update)
        self._upload = form.scan.data if "scan" in form and getattr(form.scan.data, "filename", "") else None
        del form.scan

    def _store(self, item):
        upload = getattr(self, "_upload", None)
        if upload is None:
            return
        data = upload.read()
        item.file_path, item.file_sha256 = contracts.store_pdf(current_app.config["CONTRACT_FOLDER"], data)
        item.file_name = contracts.uploaded_name(upload.filename, None)
        item.file_size, item.uploaded_at, item.uploaded_by_id = len(data), clock.now(), g.user.id
        self._upload = None

    def pre_add(self, item):
        super().pre_add(item)
        self._store(item)

    def pre_update(self, item):
        super().pre_update(item)
        self._store(item)

    @expose("/file/<int:pk>")
    @has_access
    def file(self, pk):
        return self._send_scan(pk)


class MyContractView(_ContractScreen):
    """A service user's organisation's contracts (the scope filter's own clause)."""

    list_title = _("My organisation's service contracts")
    show_title = _("Service contract")
    file_endpoint = "MyContractView.file"

    @expose("/file/<int:pk>")
    @has_access
    def file(self, pk):
        return self._send_scan(pk)

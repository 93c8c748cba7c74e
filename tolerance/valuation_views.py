"""The page of one investment's valuation marks: its history for staff and auditors, and the form with
which portfolio managers record a new mark (tolerance.valuation.valuation_mark_record)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tolerance import figures
from tolerance.models import Investment
from tolerance.portfolio import InvalidRecord
from tolerance.valuation import user_can_record_marks, valuation_mark_record
from tolerance.valuation_forms import ValuationMarkForm
from tolerance.views import portfolio_reader


@require_http_methods(["GET", "POST"])
@portfolio_reader
def investment_marks(request, investment_id: int):
    investment = Investment.objects.select_related("fund", "startup").filter(pk=investment_id).first()
    if investment is None:
        raise Http404(_("There is no such investment."))
    can_record = user_can_record_marks(request.user)
    form = ValuationMarkForm(investment=investment) if can_record else None
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied
        form = ValuationMarkForm(request.POST, investment=investment)
        if form.is_valid():
            try:
                mark = valuation_mark_record(investment=investment, by=request.user, **form.cleaned_data)
            except InvalidRecord as error:
                for name, problems in error.errors.items():
                    for problem in problems:
                        form.add_error(name if name in form.fields else None, problem)
            else:
                messages.success(
                    request,
                    _("The fair value as of %(date)s is recorded.") % {"date": mark.as_of.isoformat()},
                )
                return redirect("tolerance:investment_marks", investment_id=investment.pk)
    return render(
        request,
        "tolerance/investment_marks.html",
        {
            "investment": investment,
            "marks": figures.investment_marks(investment=investment),
            "form": form,
        },
    )

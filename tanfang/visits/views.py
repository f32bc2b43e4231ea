"""The visitor's phone pages: today's and overdue visits, the visit form, the
liaison's board of the village."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tanfang.accounts import access
from tanfang.accounts.permissions import Perm


@access.requires(Perm.VISITS_RECORD)
def home(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    return render(request, "visits/home.html", {"region": user.region})

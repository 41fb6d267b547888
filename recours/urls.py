from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from recours.api.api import api

# Evidence files have no public URL: the console streams them after an
# authorization check.
urlpatterns = [
    path("", include("recours.portal.urls")),
    path("console/", include("recours.console.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
]

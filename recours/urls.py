from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from recours.api.api import api
from recours.core.favicon import favicon
from recours.core.sessions import admin_login

# Evidence files have no public URL: the console streams them after an
# authorization check.
urlpatterns = [
    path("", include("recours.portal.urls")),
    path("console/", include("recours.console.urls")),
    path("api/v1/", api.urls),
    # Before the admin's own: its login with the console's limit and session length.
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("recours.ops.urls")),
    path("favicon.ico", favicon, name="favicon"),
]

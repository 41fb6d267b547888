from django.urls import path

from recours.portal import case_views, portfolio_views, protection_views, views

app_name = "portal"
urlpatterns = [
    path("", views.report, name="report"),
    path("kiosks/", views.terminal_search, name="terminals"),
    path("submitted/", views.submitted, name="submitted"),
    path("status/", views.status, name="status"),
    path("status/code/", views.status_code, name="status_code"),
    path(
        "status/open/<str:reference>/<str:token>/",
        views.status_open,
        name="status_open",
    ),
    path("portfolio/", portfolio_views.start, name="portfolio"),
    path("portfolio/code/", portfolio_views.code, name="portfolio_code"),
    path("portfolio/mine/", portfolio_views.mine, name="portfolio_mine"),
    path("portfolio/signout/", portfolio_views.signout, name="portfolio_signout"),
    path("status/signout/", views.status_signout, name="status_signout"),
    # Linked only from the day-23 reminder of a protected order.
    path("protection/<str:token>/", protection_views.feedback, name="protection"),
    path(
        "protection/<str:token>/done/",
        protection_views.done,
        name="protection_done",
    ),
    # Last: "code", "open" and "signout" above are not references.
    path("status/<str:reference>/", case_views.case_page, name="case"),
    path("status/<str:reference>/answer/", case_views.respond, name="case_respond"),
    path(
        "status/<str:reference>/documents/",
        case_views.evidence,
        name="case_evidence",
    ),
    path(
        "status/<str:reference>/files/<int:pk>/",
        case_views.case_file,
        name="case_file",
    ),
]

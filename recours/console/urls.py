from django.contrib.auth import views as auth_views
from django.urls import path

from recours.console import (
    anomaly_views,
    claim_views,
    customer_views,
    views,
    webhook_views,
    workflow_views,
)

app_name = "console"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cases/<str:reference>/", views.case_page, name="case"),
    path("cases/<str:reference>/assign/", views.assign, name="assign"),
    path("cases/<str:reference>/status/", views.change_status, name="status"),
    path("cases/<str:reference>/note/", views.add_note, name="note"),
    path("cases/<str:reference>/reply/", views.reply, name="reply"),
    path("cases/<str:reference>/answer/", claim_views.answer, name="answer"),
    path("cases/<str:reference>/evidence/", claim_views.evidence, name="evidence"),
    path(
        "cases/<str:reference>/documents/",
        claim_views.request_documents,
        name="request_documents",
    ),
    path("cases/<str:reference>/decide/", claim_views.decide, name="decide"),
    path(
        "cases/<str:reference>/carried-out/",
        claim_views.carried_out,
        name="carried_out",
    ),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("customers/", customer_views.customers, name="customers"),
    path("customers/<int:pk>/", customer_views.customer, name="customer"),
    path("anomalies/", anomaly_views.anomalies, name="anomalies"),
    path("anomalies/<int:pk>/", anomaly_views.anomaly, name="anomaly"),
    path("corrections/<int:pk>/approve/", anomaly_views.approve, name="approve"),
    path("corrections/<int:pk>/reject/", anomaly_views.reject, name="reject"),
    path("workflows/", workflow_views.workflows_page, name="workflows"),
    path("sms/", views.sms, name="sms"),
    path("undelivered/", views.undelivered, name="undelivered"),
    path("undelivered/resend-all/", views.resend_all, name="resend_all"),
    path("undelivered/<int:pk>/resend/", views.resend, name="resend"),
    path("webhooks/", webhook_views.endpoints, name="webhooks"),
    path("webhooks/new/", webhook_views.add, name="webhook_add"),
    path("webhooks/<int:pk>/", webhook_views.endpoint, name="webhook"),
    path("webhooks/<int:pk>/edit/", webhook_views.edit, name="webhook_edit"),
    path("webhooks/<int:pk>/disable/", webhook_views.disable, name="webhook_disable"),
    path("webhooks/<int:pk>/enable/", webhook_views.enable, name="webhook_enable"),
    path(
        "webhooks/messages/<int:pk>/redeliver/",
        webhook_views.redeliver,
        name="webhook_redeliver",
    ),
]

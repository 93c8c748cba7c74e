"""The service system's URLs, in the teams namespace (added to teams/urls.py)."""

from django.urls import path

from teams import service_views as views

urlpatterns = [
    path("services/", views.service_request_list, name="service_request_list"),
    path("services/new/", views.service_request_create, name="service_request_create"),
    path("services/queue/", views.service_queue, name="service_queue"),
    path("services/figures/", views.service_figures, name="service_figures"),
    path("services/<int:pk>/", views.service_request_detail, name="service_request_detail"),
    path("services/<int:pk>/message/", views.service_request_message, name="service_request_message"),
    path("services/<int:pk>/rate/", views.service_request_rate, name="service_request_rate"),
    path("services/<int:pk>/accept/", views.service_request_accept, name="service_request_accept"),
    path("services/<int:pk>/reject/", views.service_request_reject, name="service_request_reject"),
    path("services/<int:pk>/resolve/", views.service_request_resolve, name="service_request_resolve"),
    path(
        "services/attachments/<int:attachment_pk>/",
        views.service_attachment_download,
        name="service_attachment_download",
    ),
]

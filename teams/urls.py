from django.urls import path

from teams import residency_request_views as residency_requests
from teams import service_urls, views

app_name = "teams"

urlpatterns = [
    path("", views.entity_list, name="entity_list"),
    path("new/", views.entity_create, name="entity_create"),
    path("<int:pk>/", views.entity_detail, name="entity_detail"),
    path("<int:pk>/edit/", views.entity_edit, name="entity_edit"),
    path("<int:pk>/members/new/", views.member_create, name="member_create"),
    path("<int:pk>/members/<int:member_pk>/edit/", views.member_edit, name="member_edit"),
    path("<int:pk>/members/<int:member_pk>/delete/", views.member_delete, name="member_delete"),
    path("<int:pk>/achievements/new/", views.achievement_create, name="achievement_create"),
    path("<int:pk>/achievements/<int:achievement_pk>/edit/", views.achievement_edit, name="achievement_edit"),
    path("<int:pk>/achievements/<int:achievement_pk>/stage/", views.achievement_stage, name="achievement_stage"),
    path("<int:pk>/documents/new/", views.document_upload, name="document_upload"),
    path("<int:pk>/documents/<int:document_pk>/delete/", views.document_delete, name="document_delete"),
    path("documents/<int:document_pk>/", views.document_download, name="document_download"),
    # Residency requests (teams/residency_request_views.py).
    path("<int:pk>/residency/apply/", residency_requests.request_new, name="residency_request_new"),
    path("residency/", residency_requests.my_requests, name="residency_requests"),
    path("residency/queue/", residency_requests.queue, name="residency_queue"),
    path("residency/<int:request_pk>/", residency_requests.request_detail, name="residency_request_detail"),
    path("residency/<int:request_pk>/select/", residency_requests.request_select, name="residency_request_select"),
    path("residency/<int:request_pk>/decline/", residency_requests.request_decline, name="residency_request_decline"),
    path(
        "residency/<int:request_pk>/withdraw/", residency_requests.request_withdraw, name="residency_request_withdraw"
    ),
    path(
        "residency/<int:request_pk>/documents/<int:document_pk>/",
        residency_requests.request_document,
        name="residency_request_document",
    ),
]

# The service system (teams/service_urls.py).
urlpatterns += service_urls.urlpatterns

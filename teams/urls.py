from django.urls import path

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
]

# The service system (teams/service_urls.py).
urlpatterns += service_urls.urlpatterns

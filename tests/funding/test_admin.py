from django.urls import reverse

from funding.models import Application

S = Application.State


def test_staff_take_a_transition_from_the_admin_list_with_a_comment(client, application_in, people):
    application = application_in(S.SUBMITTED)
    people["reviewer"].is_staff = True
    people["reviewer"].save()
    client.force_login(people["reviewer"])
    url = reverse("admin:funding_application_changelist") + "?queue=formal"
    listing = client.get(url)
    assert listing.status_code == 200 and f">{application.pk}<" in listing.content.decode()
    confirm = client.post(url, {"action": "do_start_formal_review", "_selected_action": [application.pk]})
    assert "comment" in confirm.content.decode()
    client.post(
        url,
        {"action": "do_start_formal_review", "_selected_action": [application.pk], "apply": "1", "comment": "开始审查"},
    )
    application.refresh_from_db()
    assert application.state == S.FORMAL_REVIEW
    assert application.events.last().comment == "开始审查"


def test_a_refused_admin_action_says_why_and_changes_nothing(client, application_in, people):
    application = application_in(S.SUBMITTED)
    people["approver"].is_staff = True
    people["approver"].save()
    client.force_login(people["approver"])
    url = reverse("admin:funding_application_changelist")
    response = client.post(
        url,
        {"action": "do_start_formal_review", "_selected_action": [application.pk], "apply": "1", "comment": "x"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "may not" in response.content.decode()
    application.refresh_from_db()
    assert application.state == S.SUBMITTED


def test_auditors_get_no_admin_actions_and_no_change_view_writes(client, application_in, auditor):
    application = application_in(S.SUBMITTED)
    client.force_login(auditor)
    listing = client.get(reverse("admin:funding_application_changelist"))
    assert listing.status_code == 200
    assert "do_start_formal_review" not in listing.content.decode()
    response = client.post(reverse("admin:funding_application_change", args=[application.pk]), {"state": "closed"})
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.state == S.SUBMITTED

from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from tests.auth_helpers import second_factor_device, totp_code
from valley.core import roles, scoping


def test_every_role_has_a_group_after_migrate(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)


def test_sync_is_idempotent(db):
    first = roles.sync_roles()
    second = roles.sync_roles()
    assert first == second
    assert Group.objects.filter(name__in=roles.ROLES).count() == len(roles.ROLES)


def test_sync_removes_permissions_granted_by_hand(db):
    auditors = Group.objects.get(name=roles.AUDITOR)
    auditors.permissions.add(Permission.objects.get(codename="change_subvenue"))
    roles.sync_roles()
    assert not auditors.permissions.filter(codename="change_subvenue").exists()


def test_auditors_may_only_view(db):
    codenames = Group.objects.get(name=roles.AUDITOR).permissions.values_list("codename", flat=True)
    assert codenames
    assert all(code.startswith("view_") for code in codenames)
    assert "view_user" not in codenames  # accounts (and their password hashes) are not audit records


def test_applicants_get_no_admin_permissions(db):
    assert not Group.objects.get(name=roles.APPLICANT).permissions.exists()


def test_operator_is_scoped_and_provincial_staff_is_not(make_user):
    operator = make_user(roles.SUB_VENUE_OPERATOR)
    staff = make_user(roles.PROVINCIAL_STAFF)
    auditor = make_user(roles.AUDITOR)
    applicant = make_user(roles.APPLICANT)
    assert not scoping.sees_every_sub_venue(operator)
    assert scoping.sees_every_sub_venue(staff)
    assert scoping.sees_every_sub_venue(auditor)
    assert not scoping.sees_every_sub_venue(applicant)
    assert roles.is_staff_member(operator) and not roles.is_staff_member(auditor)


def test_role_lookup_is_one_query_per_user(make_user, django_assert_num_queries):
    user = make_user(roles.APPROVER)
    user = type(user).objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        assert roles.has_role(user, roles.APPROVER)
        assert not roles.has_role(user, roles.AUDITOR)
        assert roles.is_staff_member(user)


def test_staff_login_reaches_the_admin(client, make_user):
    clerk = make_user(roles.PROVINCIAL_STAFF, email="clerk@example.cn", password="pw-Valley-2026!")
    device = second_factor_device(clerk)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "clerk@example.cn", "password": "pw-Valley-2026!"}, follow=True
    )
    # The password alone leads to the code page, which then leads on to the admin.
    assert response.request["PATH_INFO"] == reverse("two_factor_verify")
    response = client.post(reverse("two_factor_verify"), {"token": totp_code(device), "next": "/admin/"}, follow=True)
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == "/admin/"
    assert b"valley/subvenue/" in response.content

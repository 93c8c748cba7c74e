"""A person's name reads as its owner writes it (王小明, Ming Wang), and the forms ask for it in the order the
reader writes a name: 姓 before 名 in Chinese, the given name first in English. A person has a 姓名; 名称 is
a thing's name (locale/glossary.toml)."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import MemberFactory
from valley.models import User, name_fields_in_reading_order


def _before(page: str, first: str, second: str) -> bool:
    assert first in page and second in page, (first, second)
    return page.index(first) < page.index(second)


@pytest.mark.parametrize(
    "language, order", [("zh-hans", ("last_name", "first_name")), ("en", ("first_name", "last_name"))]
)
def test_the_name_fields_come_in_the_readers_order(language, order):
    with translation.override(language):
        assert name_fields_in_reading_order() == order


def test_the_chinese_sign_up_form_asks_for_姓_before_名(client, db):
    page = client.get(reverse("signup"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert _before(page, 'id="id_last_name"', 'id="id_first_name"')
    assert '<label for="id_last_name">姓</label>' in page and '<label for="id_first_name">名</label>' in page


def test_the_english_sign_up_form_asks_for_the_given_name_first(client, db):
    page = client.get(reverse("signup"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _before(page, 'id="id_first_name"', 'id="id_last_name"')
    assert '<label for="id_first_name">Given name</label>' in page
    assert '<label for="id_last_name">Family name</label>' in page


@pytest.fixture
def superuser_client(client, db):
    root = User.objects.create_superuser(email="root@example.cn", password="pw-Valley-2026!")
    client.force_login(root)
    return client


@pytest.fixture
def wang(db):
    return User.objects.create_user(email="wang@example.cn", first_name="小明", last_name="王")


def test_the_users_admin_shows_王小明_under_姓名_in_chinese(superuser_client, wang):
    page = superuser_client.get(reverse("admin:valley_user_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = page.content.decode()
    assert "姓名" in body and "王小明" in body
    assert "小明 王" not in body and "名称" not in body


def test_the_users_admin_shows_a_western_name_given_name_first_in_english(superuser_client, db):
    User.objects.create_user(email="ming@example.cn", first_name="Ming", last_name="Wang")
    body = superuser_client.get(reverse("admin:valley_user_changelist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Full name" in body and "Ming Wang" in body


def test_the_users_admin_asks_for_姓_before_名_in_chinese_and_the_given_name_first_in_english(superuser_client, wang):
    url = reverse("admin:valley_user_change", args=[wang.pk])
    chinese = superuser_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert _before(chinese, 'name="last_name"', 'name="first_name"')
    assert '<label for="id_last_name">姓:</label>' in chinese and '<label for="id_first_name">名:</label>' in chinese
    english = superuser_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _before(english, 'name="first_name"', 'name="last_name"')
    assert '<label for="id_first_name">Given name:</label>' in english


def test_a_member_is_listed_under_姓名_and_a_team_under_名称(client, applicant, entity_factory):
    entity = entity_factory(owner=applicant, name_zh="太原钠电研究团队")
    MemberFactory(entity=entity, name="王建国", is_lead=True)
    client.force_login(applicant)
    detail = client.get(entity.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<th scope="col">姓名</th>' in detail and "王建国" in detail
    listing = client.get(reverse("teams:entity_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert re.search(r'<th scope="col"[^>]*>(<a class="sort"[^>]*>)?名称<', listing)  # a sortable column
    english = client.get(entity.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<th scope="col">Name</th>' in english

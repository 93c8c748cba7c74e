import pytest
from django.urls import reverse

from teams.models import Achievement, Entity
from valley.demo import seed as seed_valley


@pytest.fixture
def demo_valley(db):
    seed_valley(log=lambda line: None)


def test_home_is_in_chinese_by_default(client, demo_valley):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="zh-Hans">' in body
    assert "晋创谷" in body
    assert "转化科技成果" in body  # a target's Chinese name
    assert "进展" in body or "目标" in body


def test_home_switches_to_english_and_stays_there(client, demo_valley):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    body = response.content.decode()
    assert '<html lang="en">' in body
    assert "Progress toward the targets" in body
    assert "Shanxi Innovation Valley" in body
    assert '<html lang="en">' in client.get(reverse("home")).content.decode()


def test_home_shows_live_figures(client, demo_valley, entity_factory):
    entity_factory(kind=Entity.Kind.STARTUP)
    team = entity_factory(kind=Entity.Kind.RESEARCH_TEAM)
    Achievement.objects.create(
        entity=team, title="x", kind=Achievement.Kind.PATENT, stage=Achievement.Stage.TRANSFORMED
    )
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    figures = response.context["figures"]
    assert (figures.startups, figures.research_teams, figures.achievements_transformed) == (1, 1, 1)
    assert figures.sub_venues_open == 1 and figures.sub_venues_total == 5
    body = response.content.decode()
    assert 'data-figure="startups">1<' in body
    assert "1 / 1,000" in body


def test_home_runs_the_same_queries_whatever_the_data_size(
    client, demo_valley, entity_factory, django_assert_max_num_queries
):
    entity_factory()
    with django_assert_max_num_queries(10) as small:
        client.get(reverse("home"))
    entity_factory.create_batch(60)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("home"))


def test_home_without_data_tells_what_to_do(client, db):
    body = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "seed_demo" in body


def test_home_splits_target_progress_by_sub_venue_and_focus_area(
    client, demo_valley, entity_factory, residency_factory
):
    from valley.models import FocusArea, SubVenue

    taiyuan = SubVenue.objects.get(code="taiyuan")
    datong = SubVenue.objects.get(code="datong")
    energy = FocusArea.objects.get(code="energy")
    materials = FocusArea.objects.get(code="new-materials")
    startup = entity_factory(kind=Entity.Kind.STARTUP, focus_area=energy)
    residency_factory(entity=startup, sub_venue=taiyuan)
    team = entity_factory(kind=Entity.Kind.RESEARCH_TEAM, focus_area=materials)
    # The team moved from Datong (graduated) to Taiyuan: its latest residency counts.
    residency_factory(entity=team, sub_venue=datong, status="graduated", ended_on="2024-06-01")
    residency_factory(entity=team, sub_venue=taiyuan, selected_on="2024-07-01", entered_on="2024-07-02")
    unplaced = entity_factory(kind=Entity.Kind.STARTUP, focus_area=materials)
    for entity, stage in [(startup, "transformed"), (team, "transformed"), (team, "pilot"), (unplaced, "transformed")]:
        Achievement.objects.create(entity=entity, title="x", kind=Achievement.Kind.PATENT, stage=stage)

    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    figures = response.context["figures"]
    by_venue = {row.label: (row.achievements_transformed, row.enterprises) for row in figures.by_sub_venue}
    assert by_venue["Shanxi Innovation Valley·Taiyuan"] == (2, 1)
    assert by_venue["Shanxi Innovation Valley·Datong"] == (0, 0)
    assert by_venue["not resident in a sub-venue"] == (1, 1)
    by_area = {row.label: (row.achievements_transformed, row.enterprises) for row in figures.by_focus_area}
    assert by_area["Energy and new energy"] == (1, 1)
    assert by_area["New materials"] == (2, 1)
    assert by_area["Semiconductors"] == (0, 0)
    body = response.content.decode()
    assert 'id="target-breakdown"' in body and "By focus area" in body
    assert "3 / 1,000" in body  # achievements transformed toward the target
    assert "2 / 1,000" in body  # enterprises cultivated toward the target

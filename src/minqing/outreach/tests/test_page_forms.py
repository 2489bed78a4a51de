"""The outreach forms as their pages show and save them: dates that a date input can open, the
must-visit rule (五必访) one interval per category, the handover of a cadre whose account was
switched off, and hidden fields without labels."""

import datetime
import re
from html.parser import HTMLParser

import pytest

from minqing.accounts.services import user_update
from minqing.audit.models import AuditLog
from minqing.outreach.models import Campaign, Enrolment, Pairing
from minqing.outreach.services import campaign_update, pairing_handover
from minqing.testing import WANQUANZHUANG


class _Form(HTMLParser):
    """What a browser would post for the page's form, untouched: its fields' values, and the
    options of each select by name ({name: [(value, label, selected)]})."""

    def __init__(self):
        super().__init__()
        self.data, self.options, self._select, self._option = {}, {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.data.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select":
            self._select = name
            self.options[name] = []
        elif tag == "option" and self._select:
            self._option = [a.get("value", ""), "", "selected" in a]
        elif tag == "textarea" and name:
            self.data[name] = [""]

    def handle_data(self, data):
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            self.options[self._select].append(tuple(self._option))
            if self._option[2]:
                self.data.setdefault(self._select, []).append(self._option[0])
            self._option = None
        elif tag == "select":
            self._select = None


def _form(body: str) -> _Form:
    form = _Form()
    form.feed(body)
    return form


# 1. Dates


def test_the_campaign_edit_page_writes_its_stored_dates_as_a_date_input_reads_them(
    world, cast, client_for
):
    body = client_for(cast.admin).get(f"/outreach/{world.campaign.pk}/edit/").content.decode()
    assert 'type="date" name="start" value="2026-06-01"' in body
    assert 'type="date" name="end" value="2026-09-30"' in body
    assert "2026/06/01" not in body


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/outreach/new/", "start"),
        ("/outreach/{pk}/pairings/new/", "start"),
        ("/outreach/{pk}/pairings/handover/", "on"),
        (f"/outreach/{{pk}}/pairings/?region={WANQUANZHUANG}", "start"),
    ],
)
def test_every_date_input_of_the_outreach_pages_opens_with_its_date(
    world, cast, client_for, path, name
):
    body = client_for(cast.admin).get(path.format(pk=world.campaign.pk)).content.decode()
    assert f'type="date" name="{name}" value="2026-06-15"' in body


# 2. The must-visit rule, per category


def test_saving_a_campaign_unchanged_keeps_each_must_visit_interval(world, cast, client_for):
    campaign = world.campaign
    rules = [
        {"category": "disaster_hit", "every_days": 21},
        {"category": "tekun", "every_days": 30},
    ]
    campaign_update(actor=cast.admin, campaign=campaign, must_visit=rules)
    client = client_for(cast.admin)
    url = f"/outreach/{campaign.pk}/edit/"
    page = _form(client.get(url).content.decode())
    assert page.data["must_visit_disaster_hit"] == ["21"]
    assert page.data["must_visit_tekun"] == ["30"]
    assert page.data["must_visit_dibao"] == [""]

    assert client.post(url, page.data).status_code == 302
    campaign.refresh_from_db()
    assert campaign.must_visit == rules
    saved = AuditLog.objects.filter(entity="outreach.campaign", action="update").latest("id")
    assert "must_visit" not in saved.changes


def test_a_new_campaign_stores_a_different_interval_per_category(world, cast, client_for):
    client = client_for(cast.admin)
    page = _form(client.get("/outreach/new/").content.decode())
    # The categories flagged as must-visit start at 30 days, the others blank.
    assert page.data["must_visit_tekun"] == ["30"] and page.data["must_visit_petitioner"] == ["30"]
    assert page.data["must_visit_disaster_hit"] == [""]
    data = page.data | {
        "name": "灾后走访",
        "kind": "post_disaster",
        "end": "2026-12-31",
        "regions": "130681107",
        "must_visit_tekun": "14",
        "must_visit_disaster_hit": "21",
        "must_visit_petitioner": "",
        "must_visit_party_rep": "",
        "must_visit_able_earner": "",
        "must_visit_retired_cadre": "",
    }
    assert client.post("/outreach/new/", data).status_code == 302
    campaign = Campaign.objects.get(name="灾后走访")
    assert {r["category"]: r["every_days"] for r in campaign.must_visit} == {
        "tekun": 14,
        "disaster_hit": 21,
    }
    # 张三 (特困) is due 14 days after the campaign's start.
    zhang = Enrolment.objects.get(campaign=campaign, household=world.zhang)
    assert zhang.must_every_days == 14


def test_a_bad_interval_names_its_category_and_saves_nothing(world, cast, client_for):
    client = client_for(cast.admin)
    data = _form(client.get("/outreach/new/").content.decode()).data | {
        "name": "灾后走访",
        "kind": "post_disaster",
        "end": "2026-12-31",
        "regions": "130681107",
        "must_visit_disaster_hit": "0",
    }
    response = client.post("/outreach/new/", data)
    assert response.status_code == 200
    assert "“受灾户”的走访间隔应为 1 到 366 天" in response.content.decode()
    assert not Campaign.objects.filter(name="灾后走访").exists()


# 3. A switched-off cadre's handover, and what coverage counts


def test_the_handover_page_offers_a_switched_off_cadre_and_moves_their_households(
    paired, cast, client_for
):
    user_update(actor=cast.admin, user=cast.paired, is_active=False)
    user_update(actor=cast.admin, user=cast.dept, is_active=False)  # switched off, no pairings
    client = client_for(cast.admin)
    url = f"/outreach/{paired.campaign.pk}/pairings/handover/"
    page = _form(client.get(url).content.decode())
    leaving = {label for _value, label, _selected in page.options["cadre"]}
    successors = {label for _value, label, _selected in page.options["successors"]}
    assert any(label.startswith("赵明") and "账户已停用" in label for label in leaving)
    assert not any(label.startswith("王志强") for label in leaving)
    assert not any(label.startswith("赵明") for label in successors)

    response = client.post(
        url,
        {
            "cadre": cast.paired.pk,
            "successors": [cast.village.pk],
            "on": "2026-06-15",
            "reason": "调离",
        },
    )
    assert response.status_code == 302
    households = {h.pk for h in paired.wanquanzhuang}
    taken = Pairing.objects.filter(cadre=cast.village, end__isnull=True)
    assert set(taken.values_list("household_id", flat=True)) == households
    ended = Pairing.objects.filter(cadre=cast.paired)
    assert set(ended.values_list("household_id", flat=True)) == households
    assert set(ended.values_list("end", "end_reason")) == {(datetime.date(2026, 6, 15), "调离")}
    assert set(
        Enrolment.objects.filter(household_id__in=households).values_list("cadre", flat=True)
    ) == {cast.village.pk}


def test_a_household_paired_with_a_switched_off_account_counts_as_unpaired(
    paired, cast, client_for
):
    client = client_for(cast.admin)
    coverage = f"/outreach/{paired.campaign.pk}/"
    assert 'data-figure="unpaired">2<' in client.get(coverage).content.decode()  # 孙八, 刘芳
    user_update(actor=cast.admin, user=cast.paired, is_active=False)
    assert 'data-figure="unpaired">6<' in client.get(coverage).content.decode()
    rows = client.get(f"{coverage}households/?show=unpaired").content.decode()
    assert "张三" in rows and "孙八" in rows
    assert "账户已停用" in rows
    village = client.get(f"{coverage}?region=130681107").content.decode()
    assert 'data-figure="unpaired">5<' in village  # 刁窝镇: 万全庄村's four and 孙八


def test_the_unpaired_filter_lists_a_switched_off_cadres_households_until_handed_over(
    paired, cast, client_for
):
    """The filter "只看未包联" lists what coverage counts as 未包联: a household whose only pairing is with
    a switched-off account is in both, unticked (its pairing must be handed over first), and
    leaves both once handed over."""
    client = client_for(cast.admin)
    pick = f"/outreach/{paired.campaign.pk}/pairings/?region={WANQUANZHUANG}&unpaired=on"
    coverage = f"/outreach/{paired.campaign.pk}/?region={WANQUANZHUANG}"
    four = {str(h.pk) for h in paired.wanquanzhuang}

    def listed():
        body = client.get(pick).content.decode()
        return set(re.findall(r'name="households" value="(\d+)"', body)), _form(body), body

    assert listed()[0] == set()
    assert 'data-figure="unpaired">0<' in client.get(coverage).content.decode()

    user_update(actor=cast.admin, user=cast.paired, is_active=False)
    rows, form, body = listed()
    assert rows == four
    assert 'data-figure="unpaired">4<' in client.get(coverage).content.decode()
    assert "households" not in form.data  # none ticked: assigning them would be refused
    assert body.count("data-switched-off") == 4 and cast.paired.display_name in body

    pairing_handover(
        actor=cast.admin,
        campaign=paired.campaign,
        cadre=cast.paired,
        successors=[cast.village],
        on=datetime.date(2026, 6, 15),
        reason="调离",
    )
    assert listed()[0] == set()
    assert 'data-figure="unpaired">0<' in client.get(coverage).content.decode()


# 4. Hidden fields


def test_the_visit_form_shows_no_label_for_its_hidden_fields(paired, cast, client_for):
    client = client_for(cast.paired)
    url = f"/outreach/{paired.campaign.pk}/visit/{paired.zhang.pk}/"
    body = client.get(url).content.decode()
    for english in ("Latitude", "Longitude", "Client id"):
        assert english not in body
    for name in ("latitude", "longitude", "client_id"):
        assert f'type="hidden" name="{name}"' in body
    # A refused hidden value is still said, without the field's English name.
    refused = client.post(url, {"visited_at": "2026-06-15T09:30", "latitude": "北纬"})
    body = refused.content.decode()
    assert refused.status_code == 200 and 'class="error"' in body
    assert "Latitude" not in body
